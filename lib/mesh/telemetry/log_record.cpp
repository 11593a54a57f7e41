#include "mesh/telemetry/log_record.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <algorithm>
#include <iterator>
#include <vector>

#include "mesh/base/json_scan.h"
#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"
#include "mesh/base/trace_id.h"

namespace mesh {
namespace {

enum Slot { kTimestamp, kLevel, kMessage, kService, kTrace, kSpan, kSlots, kNone = kSlots };

// Which known field a member name fills, and its rank among that field's names (lower wins).
Slot Classify(std::string_view key, int* rank) {
  struct Name {
    std::string_view name;
    Slot slot;
    int rank;
  };
  static constexpr Name kNames[] = {
      {"timestamp", kTimestamp, 0}, {"time", kTimestamp, 1},  {"ts", kTimestamp, 2},
      {"@timestamp", kTimestamp, 3}, {"level", kLevel, 0},    {"severity", kLevel, 1},
      {"lvl", kLevel, 2},           {"loglevel", kLevel, 3},  {"message", kMessage, 0},
      {"msg", kMessage, 1},         {"service", kService, 0}, {"trace_id", kTrace, 0},
      {"traceId", kTrace, 1},       {"span_id", kSpan, 0},    {"spanId", kSpan, 1},
  };
  for (const Name& n : kNames) {
    if (n.name == key) {
      *rank = n.rank;
      return n.slot;
    }
  }
  return kNone;
}

// UnixTimestampToNs for an integer, exactly: through a double, milliseconds such as
// 1764075600123 come out as ...123000064 ns. 0 when the result does not fit, like the double.
int64_t IntegerTimestampToNs(int64_t v) {
  const uint64_t magnitude = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  int64_t scale = 1;
  if (magnitude < 100'000'000'000ULL) scale = 1'000'000'000;
  else if (magnitude < 100'000'000'000'000ULL) scale = 1'000'000;
  else if (magnitude < 100'000'000'000'000'000ULL) scale = 1'000;
  int64_t ns = 0;
  return __builtin_mul_overflow(v, scale, &ns) ? 0 : ns;
}

bool ParseNumberText(std::string_view text, int64_t* ns) {
  int64_t whole = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), whole);
  if (r.ec == std::errc() && r.ptr == text.data() + text.size()) {
    *ns = IntegerTimestampToNs(whole);  // keep every digit rather than going through double
    return true;
  }
  const std::string copy(text);
  char* end = nullptr;
  const double d = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size()) return false;
  *ns = UnixTimestampToNs(d);
  return true;
}

bool ParseTimestampMember(const JsonMember& m, int64_t* ns) {
  if (m.kind == JsonKind::kNumber) return ParseNumberText(m.value, ns);
  if (m.kind != JsonKind::kString) return false;
  const std::string text = StringValue(m);
  if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0])) &&
      text.find('-') == std::string::npos) {
    return ParseNumberText(text, ns);
  }
  Result<int64_t> parsed = ParseRfc3339(text);
  if (!parsed.ok()) return false;
  *ns = *parsed;
  return true;
}

bool ParseLevelMember(const JsonMember& m, LogLevel* level) {
  if (m.kind == JsonKind::kString) {
    const auto parsed = ParseLogLevel(StringValue(m));
    if (!parsed) return false;
    *level = *parsed;
    return true;
  }
  if (m.kind != JsonKind::kNumber) return false;
  int n = 0;
  const auto r = std::from_chars(m.value.data(), m.value.data() + m.value.size(), n);
  if (r.ec != std::errc() || r.ptr != m.value.data() + m.value.size()) return false;
  // pino/bunyan: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal.
  if (n >= 10 && n <= 60 && n % 10 == 0) {
    static constexpr LogLevel kPino[] = {LogLevel::kDebug, LogLevel::kDebug, LogLevel::kInfo,
                                         LogLevel::kWarn,  LogLevel::kError, LogLevel::kFatal};
    *level = kPino[n / 10 - 1];
    return true;
  }
  const auto parsed = LevelFromSeverityNumber(n);
  if (!parsed) return false;
  *level = *parsed;
  return true;
}

bool ParseIdMember(const JsonMember& m, bool (*valid)(std::string_view), std::string* id) {
  if (m.kind != JsonKind::kString) return false;
  std::string text = StringValue(m);
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!valid(text)) return false;
  *id = std::move(text);
  return true;
}

void AppendMember(std::string& attributes, std::string_view raw_key, std::string_view suffix,
                  std::string_view raw_value) {
  attributes += attributes.empty() ? "{\"" : ",\"";
  attributes += raw_key;
  attributes += suffix;
  attributes += "\":";
  attributes += raw_value;
}

}  // namespace

int64_t UnixTimestampToNs(double value) {
  const double magnitude = std::fabs(value);
  double ns;
  if (magnitude < 1e11) ns = value * 1e9;
  else if (magnitude < 1e14) ns = value * 1e6;
  else if (magnitude < 1e17) ns = value * 1e3;
  else ns = value;
  if (!std::isfinite(ns) || std::fabs(ns) > 9.2e18) return 0;
  return static_cast<int64_t>(std::llround(ns));
}

void AppendJson(std::string& out, const LogRecord& r) {
  out += "{\"timestamp\":\"";
  out += FormatRfc3339(r.ts_ns);
  out += "\",\"level\":\"";
  out += LevelName(r.level);
  out += "\",\"service\":";
  AppendJsonString(out, r.service);
  out += ",\"message\":";
  AppendJsonString(out, r.message);
  if (!r.trace_id.empty()) {
    out += ",\"trace_id\":";
    AppendJsonString(out, r.trace_id);
  }
  if (!r.span_id.empty()) {
    out += ",\"span_id\":";
    AppendJsonString(out, r.span_id);
  }
  // Attributes are stored as a compact object we wrote ourselves: splice its members in.
  if (r.attributes.size() > 2 && r.attributes.front() == '{' && r.attributes.back() == '}') {
    out += ',';
    out.append(r.attributes, 1, r.attributes.size() - 2);
  }
  out += '}';
}

std::string ToJson(const LogRecord& record) {
  std::string out;
  AppendJson(out, record);
  return out;
}

Result<LogRecord> LogRecordFromJson(std::string_view json, const LogRecord& defaults) {
  thread_local std::vector<JsonMember> members;
  if (Status s = ScanJsonObject(json, members); !s.ok()) return s;

  // The best-ranked member for each known field; the rest become attributes.
  int chosen[kSlots];
  int chosen_rank[kSlots];
  std::fill(std::begin(chosen), std::end(chosen), -1);
  std::vector<Slot> slots(members.size(), kNone);
  // The field each member's name belongs to, chosen or not.
  std::vector<Slot> named(members.size(), kNone);
  // Members named like a field the JSON form prints itself (rank 0). A repeated one, such as a
  // second "level", is not chosen but must not be spliced back under that name either: the
  // output would then hold the name twice.
  std::vector<bool> canonical_name(members.size(), false);
  for (size_t i = 0; i < members.size(); ++i) {
    const JsonMember& m = members[i];
    int rank = 0;
    const Slot slot = m.key_escaped ? Classify(UnescapeJsonString(m.key), &rank)
                                    : Classify(m.key, &rank);
    if (slot == kNone) continue;
    named[i] = slot;
    canonical_name[i] = rank == 0;
    if (chosen[slot] < 0 || rank < chosen_rank[slot]) {
      chosen[slot] = static_cast<int>(i);
      chosen_rank[slot] = rank;
    }
  }
  for (int slot = 0; slot < kSlots; ++slot) {
    if (chosen[slot] >= 0) slots[chosen[slot]] = static_cast<Slot>(slot);
  }

  LogRecord r = defaults;
  r.attributes.clear();
  for (size_t i = 0; i < members.size(); ++i) {
    const JsonMember& m = members[i];
    bool used = true;
    switch (slots[i]) {
      case kTimestamp: used = ParseTimestampMember(m, &r.ts_ns); break;
      case kLevel: used = ParseLevelMember(m, &r.level); break;
      case kMessage:
        // null means "no message": keep the default rather than storing the word null.
        if (m.kind == JsonKind::kString) r.message = StringValue(m);
        else if (m.kind != JsonKind::kNull) r.message = std::string(m.value);
        break;
      case kService:
        used = m.kind == JsonKind::kString && m.value.size() > 2;
        if (used) r.service = StringValue(m);
        break;
      case kTrace:
        used = ParseIdMember(m, IsValidTraceId, &r.trace_id) || m.value == "\"\"" || m.kind == JsonKind::kNull;
        break;
      case kSpan:
        used = ParseIdMember(m, IsValidSpanId, &r.span_id) || m.value == "\"\"" || m.kind == JsonKind::kNull;
        break;
      case kNone: used = false; break;
    }
    if (used) continue;
    // A known member whose value we could not use is kept, renamed when its name is one the
    // JSON form prints itself. So is a trace or span id member that lost to another, whatever
    // its name: the JSON form leaves trace_id and span_id out when they are empty, and reading
    // it back would take a second "traceId" kept under its own name for the id.
    const bool lost_id = (named[i] == kTrace || named[i] == kSpan) && slots[i] == kNone;
    AppendMember(r.attributes, m.key, canonical_name[i] || lost_id ? "_raw" : "", m.value);
  }
  if (!r.attributes.empty()) r.attributes += '}';
  return r;
}

}  // namespace mesh
