#include "mesh/telemetry/journal_record.h"

#include <charconv>
#include <optional>
#include <string>

#include "mesh/base/json_tape.h"
#include "mesh/base/json_text.h"
#include "mesh/base/utf8.h"

namespace mesh {
namespace {

constexpr std::string_view kDropped[] = {"__CURSOR", "__SEQNUM", "__SEQNUM_ID", "__MONOTONIC_TIMESTAMP", "_BOOT_ID"};

// Names the record's JSON form prints itself, and the id names reading it back would take for
// the ids: a field of such a name is kept as "<name>_raw", as LogRecordFromJson keeps it, so
// that meshlog's output reads back as the same record.
constexpr std::string_view kRenamed[] = {"timestamp", "level",   "service", "message",
                                         "trace_id",  "span_id", "traceId", "spanId"};

bool KeyIs(const JsonTape::Node& n, std::string_view name) {
  return n.key_escaped ? UnescapeJsonString(n.key) == name : n.key == name;
}

// A field's text: a string, or journald's array of byte values (binary or non-UTF-8 data)
// decoded with invalid UTF-8 replaced. nullopt for anything else (a multi-valued field).
std::optional<std::string> FieldText(const JsonTape& t, uint32_t i) {
  const JsonTape::Node& n = t.node(i);
  if (n.kind == JsonKind::kString) return t.String(i);
  if (n.kind != JsonKind::kArray) return std::nullopt;
  std::string bytes;
  bool all_bytes = true;
  t.ForEachChild(i, [&](uint32_t c) {
    const JsonTape::Node& e = t.node(c);
    int value = -1;
    if (e.kind == JsonKind::kNumber) {
      const auto r = std::from_chars(e.raw.data(), e.raw.data() + e.raw.size(), value);
      if (r.ec != std::errc() || r.ptr != e.raw.data() + e.raw.size()) value = -1;
    }
    if (value < 0 || value > 255) all_bytes = false;
    else bytes += static_cast<char>(value);
  });
  if (!all_bytes) return std::nullopt;
  return SanitizedUtf8(bytes);
}

std::optional<LogLevel> PriorityLevel(const std::optional<std::string>& text) {
  if (!text || text->size() != 1 || (*text)[0] < '0' || (*text)[0] > '7') return std::nullopt;
  const int p = (*text)[0] - '0';
  if (p <= 2) return LogLevel::kFatal;
  if (p == 3) return LogLevel::kError;
  if (p == 4) return LogLevel::kWarn;
  if (p <= 6) return LogLevel::kInfo;
  return LogLevel::kDebug;
}

std::optional<int64_t> RealtimeNs(const std::optional<std::string>& text) {
  if (!text || text->empty()) return std::nullopt;
  int64_t us = 0;
  const auto r = std::from_chars(text->data(), text->data() + text->size(), us);
  if (r.ec != std::errc() || r.ptr != text->data() + text->size() || us <= 0 || us > INT64_MAX / 1000) {
    return std::nullopt;
  }
  return us * 1000;
}

}  // namespace

bool LooksLikeJournalJson(std::string_view line) {
  const size_t first = line.find_first_not_of(" \t");
  if (first == std::string_view::npos || line[first] != '{') return false;
  return line.find("\"__REALTIME_TIMESTAMP\"") != std::string_view::npos ||
         line.find("\"__CURSOR\"") != std::string_view::npos;
}

Result<LogRecord> LogRecordFromJournalJson(std::string_view line, const LogRecord& defaults) {
  JsonTape t;
  if (Status s = t.Parse(line); !s.ok()) return s;
  if (t.node(t.root()).kind != JsonKind::kObject) return Status::InvalidArgument("expected a JSON object");
  LogRecord r = defaults;
  std::string identifier, unit;
  std::string attributes = "{";
  t.ForEachChild(t.root(), [&](uint32_t i) {
    const JsonTape::Node& n = t.node(i);
    for (std::string_view dropped : kDropped) {
      if (KeyIs(n, dropped)) return;
    }
    const std::optional<std::string> text = FieldText(t, i);
    if (KeyIs(n, "MESSAGE") && text) {
      r.message = *text;
      return;
    }
    if (KeyIs(n, "PRIORITY")) {
      if (std::optional<LogLevel> level = PriorityLevel(text)) {
        r.level = *level;
        return;
      }
    } else if (KeyIs(n, "__REALTIME_TIMESTAMP")) {
      if (std::optional<int64_t> ts = RealtimeNs(text)) {
        r.ts_ns = *ts;
        return;
      }
    } else if (KeyIs(n, "SYSLOG_IDENTIFIER") && text) {
      identifier = *text;
    } else if (KeyIs(n, "_SYSTEMD_UNIT") && text) {
      unit = *text;
    }
    if (attributes.size() > 1) attributes += ',';
    attributes += '"';
    attributes += n.key;  // still escaped: valid JSON member text as it came
    for (std::string_view renamed : kRenamed) {
      if (KeyIs(n, renamed)) attributes += "_raw";
    }
    attributes += "\":";
    if (text) AppendJsonString(attributes, *text);
    else attributes += n.raw;
  });
  attributes += '}';
  r.attributes = attributes.size() > 2 ? std::move(attributes) : std::string();
  if (defaults.service.empty()) {
    r.service = !identifier.empty() ? identifier : !unit.empty() ? unit : std::string(kJournalDefaultService);
  }
  return r;
}

}  // namespace mesh
