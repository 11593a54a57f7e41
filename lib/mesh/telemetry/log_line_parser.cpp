#include "mesh/telemetry/log_line_parser.h"

#include <cctype>

#include "mesh/base/json_text.h"
#include "mesh/base/utf8.h"
#include "mesh/telemetry/journal_record.h"
#include "mesh/telemetry/logfmt.h"
#include "mesh/telemetry/text_log_time.h"

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

// "key=value ...": the first word is a logfmt pair.
bool StartsWithLogfmtPair(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && i < 64 &&
         (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_' || line[i] == '.' ||
          line[i] == '-' || line[i] == '@')) {
    ++i;
  }
  return i > 0 && i < line.size() && line[i] == '=';
}

// A field's value as JSON: digits (a pid, a status) as a number, anything else as a string.
void AppendFieldValue(std::string& out, std::string_view value) {
  bool digits = value.size() <= 15 && (value.size() == 1 || value[0] != '0');
  for (char c : value) digits = digits && c >= '0' && c <= '9';
  if (digits) {
    out += value;
  } else {
    AppendJsonString(out, value);
  }
}

}  // namespace

std::optional<InputFormat> ParseInputFormat(std::string_view text) {
  if (text == "auto") return InputFormat::kAuto;
  if (text == "json") return InputFormat::kJson;
  if (text == "logfmt") return InputFormat::kLogfmt;
  if (text == "text") return InputFormat::kText;
  if (text == "journal") return InputFormat::kJournal;
  return std::nullopt;
}

LogLineParser::LogLineParser(Options options, const Clock& clock)
    : options_(std::move(options)), clock_(clock), detect_votes_(TextLogFormats().size(), 0) {
  if (!options_.zone) options_.zone = std::move(MakeTimeZone("local")).value();
}

const TextLogFormat* LogLineParser::MatchTextFormat(std::string_view line, TextLineMatch& match) {
  if (options_.text_format) {
    return options_.text_format->match(line, match) ? options_.text_format : nullptr;
  }
  if (detected_ && detected_->match(line, match)) return detected_;
  const std::span<const TextLogFormat> formats = TextLogFormats();
  for (size_t k = 0; k < formats.size(); ++k) {
    if (&formats[k] == detected_) continue;
    match = TextLineMatch{};
    if (formats[k].match(line, match)) return &formats[k];
  }
  return nullptr;
}

std::optional<LogRecord> LogLineParser::ParseTextFormats(std::string_view line,
                                                         const LogRecord& defaults) {
  TextLineMatch match;
  const TextLogFormat* format = MatchTextFormat(line, match);
  if (!options_.text_format && detect_seen_ < kDetectLines) {
    // The file's format: the one most of its first lines are in, tried first from then on.
    ++detect_seen_;
    if (format) {
      const TextLogFormat* formats = TextLogFormats().data();
      const uint32_t votes = ++detect_votes_[format - formats];
      if (!detected_ || votes > detect_votes_[detected_ - formats]) detected_ = format;
    }
  }
  if (!format) return std::nullopt;
  LogRecord r = defaults;
  if (match.time) {
    const TextTimeRules rules{.zone = options_.zone.get(),
                              .reference_ns = options_.reference_ns != 0 ? options_.reference_ns
                                                                          : defaults.ts_ns,
                              .year = options_.year};
    std::optional<int64_t> ts = ResolveLineTime(*match.time, rules);
    if (!ts) return std::nullopt;  // Feb 29 of a common year: the line is kept as plain text
    r.ts_ns = *ts;
  }
  if (match.level) r.level = *match.level;
  r.message.assign(match.message);
  if (match.field_count > 0) {
    r.attributes.reserve(64);
    r.attributes = "{";
    for (size_t k = 0; k < match.field_count; ++k) {
      if (k > 0) r.attributes += ',';
      AppendJsonString(r.attributes, match.fields[k].first);
      r.attributes += ':';
      AppendFieldValue(r.attributes, match.fields[k].second);
    }
    r.attributes += '}';
  }
  last_format_ = format->name;
  ++counters_.recognised;
  return r;
}

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

  last_format_ = {};
  last_time_from_line_ = false;
  Result<LogRecord> parsed = Status::InvalidArgument("");
  switch (options_.format) {
    case InputFormat::kJson:
      parsed = LogRecordFromJson(line, defaults);
      if (parsed.ok()) last_format_ = "json";
      break;
    case InputFormat::kLogfmt:
      parsed = ParseLogfmtLine(line, defaults);
      if (parsed.ok()) last_format_ = "logfmt";
      break;
    case InputFormat::kJournal:
      parsed = LogRecordFromJournalJson(line, defaults);
      if (parsed.ok()) last_format_ = "journal";
      break;
    case InputFormat::kText:
      if (std::optional<LogRecord> r = ParseTextFormats(line, defaults)) {
        parsed = std::move(*r);
      } else {
        parsed = ParseText(line, defaults);
      }
      break;
    case InputFormat::kAuto: {
      const size_t first = line.find_first_not_of(" \t");
      const bool json = first != std::string_view::npos && line[first] == '{';
      if (!first_line_json_) first_line_json_ = json;
      if (json && LooksLikeJournalJson(line) && (parsed = LogRecordFromJournalJson(line, defaults)).ok()) {
        last_format_ = "journal";
      } else if (json) {
        parsed = LogRecordFromJson(line, defaults);
        if (parsed.ok()) last_format_ = "json";
      } else if (std::optional<LogRecord> r = ParseTextFormats(line, defaults)) {
        parsed = std::move(*r);
      } else if (StartsWithLogfmtPair(line) &&
                 (parsed = ParseLogfmtLine(line, defaults)).ok()) {
        last_format_ = "logfmt";
      } else if (*first_line_json_) {
        parsed = LogRecordFromJson(line, defaults);  // as -f json: kept with its parse_error
      } else {
        parsed = ParseText(line, defaults);
      }
      break;
    }
  }

  last_time_from_line_ = parsed.ok() && parsed->ts_ns != defaults.ts_ns;
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
