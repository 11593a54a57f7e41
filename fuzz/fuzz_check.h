// FUZZ_CHECK: an invariant a fuzz target asserts on what a parser returned. A failed check
// prints the condition and aborts, which libFuzzer reports as a crash and saves the input.
// (assert() would vanish under NDEBUG; this must not.)
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                               \
  do {                                                                                      \
    if (!(condition)) {                                                                     \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)
