#include "mesh/json_scan.h"

#include <cstdint>

namespace mesh {
namespace {

constexpr int kMaxDepth = 64;

class Scanner {
 public:
  explicit Scanner(std::string_view text) : s_(text) {}

  Status ScanTop(std::vector<JsonMember>& members) {
    SkipSpace();
    if (!Peek('{')) return Error("expected '{' (a JSON object)");
    ++p_;
    SkipSpace();
    if (Peek('}')) {
      ++p_;
      return Finish();
    }
    while (true) {
      SkipSpace();
      if (!Peek('"')) return Error("expected a member name in quotes");
      JsonMember m;
      const size_t key_start = p_ + 1;
      bool escaped = false;
      if (Status st = String(&escaped); !st.ok()) return st;
      m.key = s_.substr(key_start, p_ - 1 - key_start);
      m.key_escaped = escaped;
      SkipSpace();
      if (!Peek(':')) return Error("expected ':' after a member name");
      ++p_;
      SkipSpace();
      const size_t value_start = p_;
      if (Status st = Value(1, &m.kind); !st.ok()) return st;
      m.value = s_.substr(value_start, p_ - value_start);
      members.push_back(m);
      SkipSpace();
      if (Peek(',')) {
        ++p_;
        continue;
      }
      if (Peek('}')) {
        ++p_;
        return Finish();
      }
      return Error("expected ',' or '}' in object");
    }
  }

  Status ScanArray(std::vector<std::string_view>& elements) {
    SkipSpace();
    if (!Peek('[')) return Error("expected '[' (a JSON array)");
    ++p_;
    SkipSpace();
    if (Peek(']')) {
      ++p_;
      return Finish();
    }
    while (true) {
      SkipSpace();
      const size_t start = p_;
      JsonKind kind;
      if (Status st = Value(1, &kind); !st.ok()) return st;
      elements.push_back(s_.substr(start, p_ - start));
      SkipSpace();
      if (Peek(',')) {
        ++p_;
        continue;
      }
      if (Peek(']')) {
        ++p_;
        return Finish();
      }
      return Error("expected ',' or ']' in array");
    }
  }

 private:
  Status Finish() {
    SkipSpace();
    if (p_ != s_.size()) return Error("unexpected text after the object");
    return Status::Ok();
  }

  Status Error(const char* what) const {
    return Status::InvalidArgument("invalid JSON at column " + std::to_string(p_ + 1) + ": " + what);
  }

  bool Peek(char c) const { return p_ < s_.size() && s_[p_] == c; }

  void SkipSpace() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r')) {
      ++p_;
    }
  }

  static bool IsHex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  // At an opening quote; leaves p_ after the closing one.
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
          if (p_ + 6 > s_.size() || !IsHex(s_[p_ + 2]) || !IsHex(s_[p_ + 3]) ||
              !IsHex(s_[p_ + 4]) || !IsHex(s_[p_ + 5])) {
            return Error("bad \\u escape");
          }
          p_ += 6;
          continue;
        }
        if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' &&
            e != 't') {
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
    if (Peek('0')) {
      ++p_;
    } else if (digits() == 0) {
      return Error("bad number");
    }
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

  Status Value(int depth, JsonKind* kind) {
    if (depth > kMaxDepth) return Error("nested too deeply");
    if (p_ >= s_.size()) return Error("unexpected end");
    bool ignored = false;
    switch (s_[p_]) {
      case '"': *kind = JsonKind::kString; return String(&ignored);
      case 't': *kind = JsonKind::kTrue; return Literal("true");
      case 'f': *kind = JsonKind::kFalse; return Literal("false");
      case 'n': *kind = JsonKind::kNull; return Literal("null");
      case '{': *kind = JsonKind::kObject; return Container(depth, '}', true);
      case '[': *kind = JsonKind::kArray; return Container(depth, ']', false);
      default:
        if (s_[p_] == '-' || (s_[p_] >= '0' && s_[p_] <= '9')) {
          *kind = JsonKind::kNumber;
          return Number();
        }
        return Error("unexpected character");
    }
  }

  Status Container(int depth, char close, bool is_object) {
    ++p_;
    SkipSpace();
    if (Peek(close)) {
      ++p_;
      return Status::Ok();
    }
    while (true) {
      SkipSpace();
      if (is_object) {
        bool ignored = false;
        if (!Peek('"')) return Error("expected a member name in quotes");
        if (Status st = String(&ignored); !st.ok()) return st;
        SkipSpace();
        if (!Peek(':')) return Error("expected ':' after a member name");
        ++p_;
        SkipSpace();
      }
      JsonKind kind;
      if (Status st = Value(depth + 1, &kind); !st.ok()) return st;
      SkipSpace();
      if (Peek(',')) {
        ++p_;
        continue;
      }
      if (Peek(close)) {
        ++p_;
        return Status::Ok();
      }
      return Error(is_object ? "expected ',' or '}' in object" : "expected ',' or ']' in array");
    }
  }

  std::string_view s_;
  size_t p_ = 0;
};

unsigned HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

void AppendCodePoint(std::string& out, uint32_t cp) {
  if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

Status ScanJsonObject(std::string_view text, std::vector<JsonMember>& members) {
  members.clear();
  return Scanner(text).ScanTop(members);
}

Status ScanJsonArray(std::string_view text, std::vector<std::string_view>& elements) {
  elements.clear();
  return Scanner(text).ScanArray(elements);
}

std::string UnescapeJsonString(std::string_view e) {
  std::string out;
  out.reserve(e.size());
  size_t i = 0;
  while (i < e.size()) {
    const size_t backslash = e.find('\\', i);
    if (backslash == std::string_view::npos) {
      out.append(e.substr(i));
      break;
    }
    out.append(e.substr(i, backslash - i));
    i = backslash + 1;
    if (i >= e.size()) break;
    const char c = e[i++];
    switch (c) {
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        if (i + 4 > e.size()) return out;
        uint32_t cp = 0;
        for (int k = 0; k < 4; ++k) cp = cp << 4 | HexValue(e[i + k]);
        i += 4;
        // A high surrogate followed by \u low surrogate is one code point.
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= e.size() && e[i] == '\\' && e[i + 1] == 'u') {
          uint32_t low = 0;
          for (int k = 0; k < 4; ++k) low = low << 4 | HexValue(e[i + 2 + k]);
          if (low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
          }
        }
        AppendCodePoint(out, cp);
        break;
      }
      default: out += c;  // \" \\ \/
    }
  }
  return out;
}

}  // namespace mesh
