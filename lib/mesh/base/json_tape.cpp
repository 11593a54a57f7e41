#include "mesh/base/json_tape.h"

#include "mesh/base/json_depth.h"

namespace mesh {
namespace {

// Iterative, with the open containers on a fixed stack of kMaxJsonDepth frames: the document's
// depth never becomes depth of the C++ stack, whatever the thread's stack size.
class TapeBuilder {
 public:
  TapeBuilder(std::string_view s, std::vector<JsonTape::Node>& nodes) : s_(s), nodes_(nodes) {}

  Status Run() {
    SkipSpace();
    std::string_view key;
    bool key_escaped = false;
    while (true) {
      bool opened = false;
      if (Status st = Value(key, key_escaped, &opened); !st.ok()) return st;
      if (!opened) {
        // A complete value: close the containers that end after it, up to a ',' or the end.
        if (Status st = CloseContainers(); !st.ok()) return st;
        if (depth_ == 0) break;
      }
      // The next member or element of the innermost open container.
      SkipSpace();
      key = {};
      key_escaped = false;
      if (open_[depth_ - 1].is_object) {
        if (!Peek('"')) return Error("expected a member name in quotes");
        const size_t key_start = p_ + 1;
        if (Status st = String(&key_escaped); !st.ok()) return st;
        key = s_.substr(key_start, p_ - 1 - key_start);
        SkipSpace();
        if (!Peek(':')) return Error("expected ':' after a member name");
        ++p_;
        SkipSpace();
      }
    }
    SkipSpace();
    if (p_ != s_.size()) return Error("unexpected text after the value");
    return Status::Ok();
  }

 private:
  struct OpenContainer {
    uint32_t node;
    uint32_t last_child;
    size_t start;
    bool is_object;
  };

  Status Error(const char* what) const {
    return Status::InvalidArgument("invalid JSON at column " + std::to_string(p_ + 1) + ": " + what);
  }
  bool Peek(char c) const { return p_ < s_.size() && s_[p_] == c; }
  void SkipSpace() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r')) ++p_;
  }
  static bool IsHex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  Status String(bool* escaped) {
    ++p_;
    while (p_ < s_.size()) {
      const unsigned char c = static_cast<unsigned char>(s_[p_]);
      if (c == '"') {
        ++p_;
        return Status::Ok();
      }
      if (c < 0x20) return Error("control character in string");
      if (c == '\\') {
        *escaped = true;
        if (p_ + 1 >= s_.size()) break;
        const char e = s_[p_ + 1];
        if (e == 'u') {
          if (p_ + 6 > s_.size() || !IsHex(s_[p_ + 2]) || !IsHex(s_[p_ + 3]) || !IsHex(s_[p_ + 4]) ||
              !IsHex(s_[p_ + 5])) {
            return Error("bad \\u escape");
          }
          p_ += 6;
          continue;
        }
        if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't') {
          return Error("bad escape in string");
        }
        p_ += 2;
        continue;
      }
      ++p_;
    }
    return Error("unterminated string");
  }

  Status Number() {
    const auto digits = [&] {
      const size_t start = p_;
      while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') ++p_;
      return p_ - start;
    };
    if (Peek('-')) ++p_;
    if (Peek('0')) ++p_;
    else if (digits() == 0) return Error("bad number");
    if (Peek('.')) {
      ++p_;
      if (digits() == 0) return Error("bad number");
    }
    if (Peek('e') || Peek('E')) {
      ++p_;
      if (Peek('+') || Peek('-')) ++p_;
      if (digits() == 0) return Error("bad number");
    }
    return Status::Ok();
  }

  Status Literal(std::string_view word) {
    if (s_.substr(p_, word.size()) != word) return Error("unexpected value");
    p_ += word.size();
    return Status::Ok();
  }

  // Appends the node for the value at p_ as the next child of the innermost open container.
  // A scalar or an empty container is read whole; a container with children is left open
  // (*opened) for Run to fill.
  Status Value(std::string_view key, bool key_escaped, bool* opened) {
    if (p_ >= s_.size()) return Error("unexpected end");
    const uint32_t me = static_cast<uint32_t>(nodes_.size());
    nodes_.push_back({});
    nodes_[me].key = key;
    nodes_[me].key_escaped = key_escaped;
    if (depth_ > 0) {
      OpenContainer& parent = open_[depth_ - 1];
      if (parent.last_child == JsonTape::kNone) nodes_[parent.node].first_child = me;
      else nodes_[parent.last_child].next_sibling = me;
      parent.last_child = me;
    }
    const size_t start = p_;
    Status st;
    bool ignored = false;
    switch (s_[p_]) {
      case '"': nodes_[me].kind = JsonKind::kString; st = String(&ignored); break;
      case 't': nodes_[me].kind = JsonKind::kTrue; st = Literal("true"); break;
      case 'f': nodes_[me].kind = JsonKind::kFalse; st = Literal("false"); break;
      case 'n': nodes_[me].kind = JsonKind::kNull; st = Literal("null"); break;
      case '{':
      case '[': {
        const bool is_object = s_[p_] == '{';
        nodes_[me].kind = is_object ? JsonKind::kObject : JsonKind::kArray;
        if (depth_ == kMaxJsonDepth) return JsonTooDeep(p_);
        ++p_;
        SkipSpace();
        if (!Peek(is_object ? '}' : ']')) {
          open_[depth_++] = {me, JsonTape::kNone, start, is_object};
          *opened = true;
          return Status::Ok();
        }
        ++p_;
        break;
      }
      default:
        if (s_[p_] == '-' || (s_[p_] >= '0' && s_[p_] <= '9')) {
          nodes_[me].kind = JsonKind::kNumber;
          st = Number();
        } else {
          st = Error("unexpected character");
        }
    }
    if (!st.ok()) return st;
    nodes_[me].raw = s_.substr(start, p_ - start);
    return Status::Ok();
  }

  // After a complete value: consumes the closers of the containers that end here, then the ','
  // before the next value if there is one.
  Status CloseContainers() {
    while (depth_ > 0) {
      SkipSpace();
      const OpenContainer& top = open_[depth_ - 1];
      if (Peek(',')) {
        ++p_;
        return Status::Ok();
      }
      if (!Peek(top.is_object ? '}' : ']')) {
        return Error(top.is_object ? "expected ',' or '}' in object" : "expected ',' or ']' in array");
      }
      ++p_;
      nodes_[top.node].raw = s_.substr(top.start, p_ - top.start);
      --depth_;
    }
    return Status::Ok();
  }

  std::string_view s_;
  std::vector<JsonTape::Node>& nodes_;
  size_t p_ = 0;
  OpenContainer open_[kMaxJsonDepth];
  int depth_ = 0;
};

}  // namespace

Status JsonTape::Parse(std::string_view text) {
  nodes_.clear();
  return TapeBuilder(text, nodes_).Run();
}

uint32_t JsonTape::Member(uint32_t i, std::string_view name) const {
  if (i == kNone || nodes_[i].kind != JsonKind::kObject) return kNone;
  for (uint32_t c = nodes_[i].first_child; c != kNone; c = nodes_[c].next_sibling) {
    const Node& n = nodes_[c];
    if (n.key_escaped ? UnescapeJsonString(n.key) == name : n.key == name) return c;
  }
  return kNone;
}

std::string JsonTape::String(uint32_t i) const {
  if (i == kNone || nodes_[i].kind != JsonKind::kString) return {};
  const std::string_view raw = nodes_[i].raw;
  return UnescapeJsonString(raw.substr(1, raw.size() - 2));
}

std::string JsonTape::StringMember(uint32_t i, std::string_view name) const {
  return String(Member(i, name));
}

}  // namespace mesh
