#include "mesh/telemetry/log_line_parser.h"

#include <cctype>

#include "mesh/base/json_text.h"
#include "mesh/base/utf8.h"
#include "mesh/telemetry/logfmt.h"

namespace mesh {
namespace {

// The first word of a text line names its level when it is one of the usual spellings,
// bare or bracketed: "ERROR db down", "[warn] slow", "INFO: started".
std::optional<LogLevel> LeadingLevel(std::string_view line) {
  size_t start = 0;
  while (start < line.size() && (line[start] == ' ' || line[start] == '[')) ++start;
  size_t end = start;
  while (end < line.size() && end - start < 10 && std::isalpha(static_cast<unsigned char>(line[end]))) {
    ++end;
  }
  if (end == start || end - start > 8) return std::nullopt;
  if (end < line.size() && line[end] != ' ' && line[end] != ']' && line[end] != ':') {
    return std::nullopt;
  }
  const std::string_view word = line.substr(start, end - start);
  static constexpr std::string_view kWords[] = {"debug", "trace", "info",  "warn",
                                                "warning", "error", "fatal", "critical"};
  for (std::string_view w : kWords) {
    if (word.size() != w.size()) continue;
    bool same = true;
    for (size_t i = 0; i < w.size(); ++i) {
      same = same && std::tolower(static_cast<unsigned char>(word[i])) == w[i];
    }
    if (same) return ParseLogLevel(word);
  }
  return std::nullopt;
}

}  // namespace

std::optional<InputFormat> ParseInputFormat(std::string_view text) {
  if (text == "json") return InputFormat::kJson;
  if (text == "logfmt") return InputFormat::kLogfmt;
  if (text == "text") return InputFormat::kText;
  return std::nullopt;
}

LogLineParser::LogLineParser(Options options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

LogRecord LogLineParser::ParseText(std::string_view line, const LogRecord& defaults) const {
  LogRecord r = defaults;
  r.message = std::string(line);
  if (auto level = LeadingLevel(line)) r.level = *level;
  return r;
}

Result<LogRecord> LogLineParser::ParseLogfmtLine(std::string_view line,
                                                 const LogRecord& defaults) const {
  Result<LogfmtPairs> pairs = ParseLogfmt(line);
  if (!pairs.ok()) return pairs.status();
  if (line.find('=') == std::string_view::npos) {
    return Status::InvalidArgument("logfmt: no key=value pair");
  }
  // Re-express the pairs as a JSON object so one mapping of known names serves both formats.
  std::string json = "{";
  for (const auto& [key, value] : *pairs) {
    if (json.size() > 1) json += ',';
    AppendJsonString(json, key);
    json += ':';
    AppendJsonString(json, value);
  }
  json += '}';
  return LogRecordFromJson(json, defaults);
}

LogRecord LogLineParser::Parse(std::string_view line, uint64_t dropped_bytes) {
  ++counters_.records;
  if (!IsCleanUtf8(line)) {
    scratch_.clear();
    AppendSanitizedUtf8(scratch_, line);
    line = scratch_;
    ++counters_.sanitized;
  }

  LogRecord defaults;
  defaults.ts_ns = clock_.NowNs();
  defaults.service = options_.service;
  defaults.level = options_.default_level;

  Result<LogRecord> parsed = Status::InvalidArgument("");
  switch (options_.format) {
    case InputFormat::kJson: parsed = LogRecordFromJson(line, defaults); break;
    case InputFormat::kLogfmt: parsed = ParseLogfmtLine(line, defaults); break;
    case InputFormat::kText: parsed = ParseText(line, defaults); break;
  }

  LogRecord record;
  std::string extra;  // attribute members to add, without braces
  if (parsed.ok()) {
    record = std::move(parsed).value();
  } else {
    ++counters_.parse_errors;
    record = ParseText(line, defaults);
    extra += "\"parse_error\":";
    AppendJsonString(extra, parsed.status().message());
  }
  if (dropped_bytes > 0) {
    ++counters_.truncated;
    if (!extra.empty()) extra += ',';
    extra += "\"truncated_bytes\":" + std::to_string(dropped_bytes);
  }
  if (!extra.empty()) {
    if (record.attributes.size() > 2) {
      record.attributes.pop_back();
      record.attributes += ',' + extra + '}';
    } else {
      record.attributes = '{' + extra + '}';
    }
  }
  return record;
}

}  // namespace mesh
