#include "mesh/base/json_text.h"

#include <json/reader.h>

#include <charconv>
#include <cmath>
#include <exception>
#include <memory>

#include "mesh/base/json_depth.h"
#include "mesh/base/terminal_text.h"

namespace mesh {

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t run_start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f && c != 0xc2 && c != 0xe2) continue;
    if (c == 0xc2 || c == 0xe2) {
      // C1 controls and bidirectional overrides, which a terminal showing the JSON acts on,
      // travel as \uNNNN like the C0 controls; the rest of the sequence is copied as it is.
      const size_t unsafe = TerminalUnsafeLength(s.substr(i));
      if (unsafe == 0) continue;
      out.append(s.data() + run_start, i - run_start);
      AppendTerminalEscape(out, s.substr(i), unsafe);
      run_start = i + unsafe;
      i += unsafe - 1;
      continue;
    }
    out.append(s.data() + run_start, i - run_start);
    run_start = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
  }
  out.append(s.data() + run_start, s.size() - run_start);
  out += '"';
}

void AppendJsonValue(std::string& out, const Json::Value& v) {
  char buf[32];
  switch (v.type()) {
    case Json::nullValue:
      out += "null";
      break;
    case Json::booleanValue:
      out += v.asBool() ? "true" : "false";
      break;
    case Json::intValue: {
      const auto r = std::to_chars(buf, buf + sizeof buf, v.asInt64());
      out.append(buf, r.ptr);
      break;
    }
    case Json::uintValue: {
      const auto r = std::to_chars(buf, buf + sizeof buf, v.asUInt64());
      out.append(buf, r.ptr);
      break;
    }
    case Json::realValue: {
      const double d = v.asDouble();
      if (!std::isfinite(d)) {
        out += "null";
        break;
      }
      const auto r = std::to_chars(buf, buf + sizeof buf, d);
      out.append(buf, r.ptr);
      break;
    }
    case Json::stringValue: {
      const char* begin = nullptr;
      const char* end = nullptr;
      v.getString(&begin, &end);
      AppendJsonString(out, std::string_view(begin, end - begin));
      break;
    }
    case Json::arrayValue: {
      out += '[';
      for (Json::ArrayIndex i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        AppendJsonValue(out, v[i]);
      }
      out += ']';
      break;
    }
    case Json::objectValue: {
      out += '{';
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ',';
        first = false;
        AppendJsonString(out, it.name());
        out += ':';
        AppendJsonValue(out, *it);
      }
      out += '}';
      break;
    }
  }
}

Result<Json::Value> ParseJson(std::string_view text) {
  // One reader per thread: building a CharReader costs more than parsing a log line.
  thread_local std::unique_ptr<Json::CharReader> reader = [] {
    Json::CharReaderBuilder builder;
    // RFC 8259 only: no comments, trailing commas or single quotes. Scalars at the top level
    // and repeated keys (the last wins) are still accepted, as most JSON parsers do.
    Json::CharReaderBuilder::strictMode(&builder.settings_);
    builder["strictRoot"] = false;
    builder["rejectDupKeys"] = false;
    // jsoncpp recurses per level: CheckJsonDepth below keeps it within kMaxJsonDepth. Its own
    // limit (counting the value inside the deepest container) is a second fence at the same bound.
    builder["stackLimit"] = kMaxJsonDepth + 1;
    return std::unique_ptr<Json::CharReader>(builder.newCharReader());
  }();
  if (Status depth = CheckJsonDepth(text); !depth.ok()) return depth;
  Json::Value value;
  std::string errors;
  bool parsed = false;
  try {
    parsed = reader->parse(text.data(), text.data() + text.size(), &value, &errors);
  } catch (const std::exception& e) {
    // jsoncpp throws (rather than reporting) past stackLimit: untrusted input must come back as
    // an error value, never unwind through a caller.
    return Status::InvalidArgument(std::string("invalid JSON: ") + e.what());
  }
  if (!parsed) {
    // jsoncpp says "* Line 1, Column 7\n  Missing ',' or '}' in object declaration\n...":
    // keep the first error as one line.
    std::string where = errors.substr(0, errors.find('\n'));
    if (where.rfind("* ", 0) == 0) where.erase(0, 2);
    std::string what;
    if (const size_t nl = errors.find('\n'); nl != std::string::npos) {
      what = errors.substr(nl + 1, errors.find('\n', nl + 1) - nl - 1);
      what.erase(0, what.find_first_not_of(' '));
    }
    return Status::InvalidArgument("invalid JSON at " + where + (what.empty() ? "" : ": " + what));
  }
  return value;
}

void AppendJsonDouble(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, d);
  const std::string_view text(buf, static_cast<size_t>(r.ptr - buf));
  out += text;
  if (text.find_first_of(".eE") == std::string_view::npos) out += ".0";
}

}  // namespace mesh
