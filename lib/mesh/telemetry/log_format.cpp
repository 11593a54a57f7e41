#include "mesh/telemetry/log_format.h"

#include "mesh/base/json_text.h"
#include "mesh/base/terminal_text.h"
#include "mesh/base/time_format.h"
#include "mesh/telemetry/logfmt.h"

namespace mesh {
namespace {

constexpr std::string_view kReset = "\x1b[0m";
constexpr std::string_view kDim = "\x1b[2m";
constexpr std::string_view kCyan = "\x1b[36m";

std::string_view LevelColor(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "\x1b[90m";
    case LogLevel::kInfo: return "\x1b[32m";
    case LogLevel::kWarn: return "\x1b[33m";
    case LogLevel::kError: return "\x1b[31m";
    case LogLevel::kFatal: return "\x1b[1;35m";
  }
  return "";
}

std::string LowercaseLevel(LogLevel level) {
  std::string s(LevelName(level));
  for (char& c : s) c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// Calls fn(key, text) for each attribute; strings give their value, other JSON their text.
template <typename Fn>
void ForEachAttribute(const LogRecord& r, Fn fn) {
  if (r.attributes.size() <= 2) return;
  Result<Json::Value> attrs = ParseJson(r.attributes);
  if (!attrs.ok() || !attrs->isObject()) return;
  for (auto it = attrs->begin(); it != attrs->end(); ++it) {
    if (it->isString()) {
      fn(it.name(), it->asString());
    } else {
      std::string text;
      AppendJsonValue(text, *it);
      fn(it.name(), text);
    }
  }
}

void AppendPretty(std::string& out, const LogRecord& r, bool color) {
  const auto paint = [&](std::string_view code, std::string_view text) {
    if (color) out += code;
    out += text;
    if (color) out += kReset;
  };
  paint(kDim, FormatRfc3339(r.ts_ns));
  out += ' ';
  std::string level(LevelName(r.level));
  level.resize(5, ' ');
  paint(LevelColor(r.level), level);
  out += ' ';
  paint(kCyan, TerminalSafe(r.service));
  out += ": ";
  AppendTerminalSafe(out, r.message);
  std::string tail;
  if (!r.trace_id.empty()) AppendLogfmtPair(tail, "trace_id", r.trace_id);
  if (!r.span_id.empty()) {
    if (!tail.empty()) tail += ' ';
    AppendLogfmtPair(tail, "span_id", r.span_id);
  }
  ForEachAttribute(r, [&](const std::string& key, const std::string& value) {
    if (!tail.empty()) tail += ' ';
    AppendLogfmtPair(tail, key, value);
  });
  if (!tail.empty()) {
    out += "  ";
    paint(kDim, tail);
  }
}

void AppendLogfmt(std::string& out, const LogRecord& r) {
  AppendLogfmtPair(out, "ts", FormatRfc3339(r.ts_ns));
  out += ' ';
  AppendLogfmtPair(out, "level", LowercaseLevel(r.level));
  out += ' ';
  AppendLogfmtPair(out, "service", r.service);
  out += ' ';
  AppendLogfmtPair(out, "msg", r.message);
  if (!r.trace_id.empty()) {
    out += ' ';
    AppendLogfmtPair(out, "trace_id", r.trace_id);
  }
  if (!r.span_id.empty()) {
    out += ' ';
    AppendLogfmtPair(out, "span_id", r.span_id);
  }
  ForEachAttribute(r, [&](const std::string& key, const std::string& value) {
    out += ' ';
    AppendLogfmtPair(out, key, value);
  });
}

}  // namespace

std::optional<OutputFormat> ParseOutputFormat(std::string_view text) {
  if (text == "json") return OutputFormat::kJson;
  if (text == "pretty") return OutputFormat::kPretty;
  if (text == "logfmt") return OutputFormat::kLogfmt;
  if (text == "raw") return OutputFormat::kRaw;
  return std::nullopt;
}

OutputFormat DefaultOutputFormat(bool stdout_is_tty) {
  return stdout_is_tty ? OutputFormat::kPretty : OutputFormat::kJson;
}

bool UseColor(bool stdout_is_tty, const char* no_color_env) {
  return stdout_is_tty && (no_color_env == nullptr || no_color_env[0] == '\0');
}

void AppendFormatted(std::string& out, const LogRecord& record, OutputFormat format, bool color,
                     bool escape_raw) {
  switch (format) {
    case OutputFormat::kJson: AppendJson(out, record); break;
    case OutputFormat::kPretty: AppendPretty(out, record, color); break;
    case OutputFormat::kLogfmt: AppendLogfmt(out, record); break;
    case OutputFormat::kRaw:
      if (escape_raw) {
        AppendTerminalSafe(out, record.message);
      } else {
        out += record.message;
      }
      break;
  }
  out += '\n';
}

}  // namespace mesh
