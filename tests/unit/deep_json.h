// Support for the tests of the JSON depth bound (mesh/base/json_depth.h): nested documents,
// and RunOnSmallStack, which runs a test's body on a thread with a small stack, as a server's
// worker thread runs a request handler, so that a parser that recursed once per level of its
// input crashes the test instead of passing on the main thread's 8 MiB.
#pragma once

#include <gtest/gtest.h>
#include <pthread.h>

#include <cstddef>
#include <functional>
#include <string>

namespace mesh::testing {

// Smaller than any thread meshd or meshproxy runs a handler on (civetweb's workers: 100 KiB).
// `levels` arrays inside one another, and as many objects {"a":{"a":...}}, with 1 innermost.
inline std::string NestedArrays(int levels) { return std::string(levels, '[') + "1" + std::string(levels, ']'); }
inline std::string NestedObjects(int levels) {
  std::string s;
  for (int i = 0; i < levels; ++i) s += R"({"a":)";
  return s + "1" + std::string(levels, '}');
}

// `object`, a JSON object with members, with a first member "deep" of `levels` nested arrays:
// a document as deep as `levels` + 1 (or as `object`, if that is deeper).
inline std::string WithNestedMember(const std::string& object, int levels) {
  return "{\"deep\":" + NestedArrays(levels) + "," + object.substr(1);
}

inline constexpr size_t kSmallStackBytes = 64 << 10;

inline void RunOnSmallStack(const std::function<void()>& body, size_t stack_bytes = kSmallStackBytes) {
  pthread_attr_t attr;
  ASSERT_EQ(pthread_attr_init(&attr), 0);
  ASSERT_EQ(pthread_attr_setstacksize(&attr, stack_bytes), 0);
  pthread_t thread;
  const auto run = +[](void* arg) -> void* {
    (*static_cast<const std::function<void()>*>(arg))();
    return nullptr;
  };
  const int created = pthread_create(&thread, &attr, run, const_cast<std::function<void()>*>(&body));
  pthread_attr_destroy(&attr);
  ASSERT_EQ(created, 0);
  ASSERT_EQ(pthread_join(thread, nullptr), 0);
}

}  // namespace mesh::testing
