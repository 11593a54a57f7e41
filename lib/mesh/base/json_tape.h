// JsonTape: one validating pass over a JSON document that records every value as a node
// (kind, raw text, member key) with links to its first child and next sibling, so a decoder
// can walk deeply nested input (OTLP: resource > scope > span > attribute > value) without
// scanning any byte twice and without a tree of allocations. Views point into the input,
// which must outlive the tape. Not thread-safe; reuse one tape per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/base/json_scan.h"
#include "mesh/base/status.h"

namespace mesh {

class JsonTape {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  struct Node {
    JsonKind kind;
    std::string_view raw;   // the value's text (strings with their quotes)
    std::string_view key;   // the member name, still escaped; empty for array elements
    bool key_escaped = false;
    uint32_t first_child = kNone;
    uint32_t next_sibling = kNone;
  };

  // Parses `text` (one JSON value, whitespace around allowed). Errors: InvalidArgument naming
  // the column, or JsonTooDeep past kMaxJsonDepth (json_depth.h).
  Status Parse(std::string_view text);

  uint32_t root() const { return 0; }
  const Node& node(uint32_t i) const { return nodes_[i]; }

  // The child member named `name` of object node `i`, or kNone.
  uint32_t Member(uint32_t i, std::string_view name) const;
  // The decoded string of a kString node ("" for other kinds).
  std::string String(uint32_t i) const;
  // The string member `name` of object node `i`, decoded; "" when absent or not a string.
  std::string StringMember(uint32_t i, std::string_view name) const;

  // Iterates the children of node `i` (members of an object, elements of an array).
  template <typename Fn>
  void ForEachChild(uint32_t i, Fn fn) const {
    if (i == kNone) return;
    for (uint32_t c = nodes_[i].first_child; c != kNone; c = nodes_[c].next_sibling) fn(c);
  }

 private:
  std::vector<Node> nodes_;
};

}  // namespace mesh
