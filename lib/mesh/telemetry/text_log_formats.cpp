#include "mesh/telemetry/text_log_formats.h"

namespace mesh {
namespace {

// ---- scanning primitives: each advances `i` only on success -----------------------------------

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool Expect(std::string_view s, size_t& i, char c) {
  if (i >= s.size() || s[i] != c) return false;
  ++i;
  return true;
}

bool ExpectText(std::string_view s, size_t& i, std::string_view text) {
  if (s.substr(i, text.size()) != text) return false;
  i += text.size();
  return true;
}

// Exactly n digits.
bool Digits(std::string_view s, size_t& i, size_t n, int& out) {
  if (i + n > s.size()) return false;
  int v = 0;
  for (size_t k = 0; k < n; ++k) {
    if (!IsDigit(s[i + k])) return false;
    v = v * 10 + (s[i + k] - '0');
  }
  out = v;
  i += n;
  return true;
}

// One to `max` digits.
bool SomeDigits(std::string_view s, size_t& i, size_t max, int64_t& out) {
  size_t k = i;
  int64_t v = 0;
  while (k < s.size() && k - i < max && IsDigit(s[k])) v = v * 10 + (s[k++] - '0');
  if (k == i || (k < s.size() && IsDigit(s[k]))) return false;
  out = v;
  i = k;
  return true;
}

size_t SkipSpaces(std::string_view s, size_t i) {
  while (i < s.size() && s[i] == ' ') ++i;
  return i;
}

// A run of non-space characters, at most max long.
bool Token(std::string_view s, size_t& i, size_t max, std::string_view& out) {
  size_t k = i;
  while (k < s.size() && s[k] != ' ' && k - i <= max) ++k;
  if (k == i || k - i > max) return false;
  out = s.substr(i, k - i);
  i = k;
  return true;
}

// ".123" or ",123456": up to nine digits kept, further digits skipped.
void Fraction(std::string_view s, size_t& i, int64_t& nanos) {
  if (i + 1 >= s.size() || (s[i] != '.' && s[i] != ',') || !IsDigit(s[i + 1])) return;
  ++i;
  int64_t v = 0;
  int n = 0;
  for (; i < s.size() && IsDigit(s[i]); ++i) {
    if (n < 9) {
      v = v * 10 + (s[i] - '0');
      ++n;
    }
  }
  for (; n < 9; ++n) v *= 10;
  nanos = v;
}

// "Jan".."Dec" (any case) -> 1..12.
bool MonthName(std::string_view s, size_t& i, int& month) {
  static constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                 "jul", "aug", "sep", "oct", "nov", "dec"};
  if (i + 3 > s.size()) return false;
  const char w[3] = {Lower(s[i]), Lower(s[i + 1]), Lower(s[i + 2])};
  for (int m = 0; m < 12; ++m) {
    if (std::string_view(w, 3) == kMonths[m]) {
      month = m + 1;
      i += 3;
      return true;
    }
  }
  return false;
}

// HH:MM:SS with an optional fraction.
bool Clock(std::string_view s, size_t& i, CivilTime& t) {
  size_t k = i;
  if (!Digits(s, k, 2, t.hour) || !Expect(s, k, ':') || !Digits(s, k, 2, t.minute) ||
      !Expect(s, k, ':') || !Digits(s, k, 2, t.second)) {
    return false;
  }
  Fraction(s, k, t.nanos);
  i = k;
  return true;
}

// "Z", "+01:00", "+0100".
bool Zone(std::string_view s, size_t& i, std::optional<int32_t>& offset) {
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    offset = 0;
    ++i;
    return true;
  }
  if (i >= s.size() || (s[i] != '+' && s[i] != '-')) return false;
  size_t k = i + 1;
  int hh = 0, mm = 0;
  if (!Digits(s, k, 2, hh)) return false;
  if (k < s.size() && s[k] == ':') ++k;
  if (!Digits(s, k, 2, mm) || hh > 18 || mm > 59) return false;
  offset = (s[i] == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
  i = k;
  return true;
}

// YYYY-MM-DD[T ]HH:MM:SS[.frac][zone]
bool IsoTime(std::string_view s, size_t& i, LineTime& t, bool allow_zone = true) {
  size_t k = i;
  CivilTime& c = t.civil;
  if (!Digits(s, k, 4, c.year) || !Expect(s, k, '-') || !Digits(s, k, 2, c.month) ||
      !Expect(s, k, '-') || !Digits(s, k, 2, c.day)) {
    return false;
  }
  if (k >= s.size() || (s[k] != 'T' && s[k] != ' ')) return false;
  ++k;
  if (!Clock(s, k, c)) return false;
  if (allow_zone) Zone(s, k, t.utc_offset_s);
  if (!IsValidCivilTime(c)) return false;
  i = k;
  return true;
}

// A bracketed run, "[main]" or "[pool-1 thread-2]": the inside, no nesting.
bool Bracketed(std::string_view s, size_t& i, std::string_view& inside) {
  if (i >= s.size() || s[i] != '[') return false;
  const size_t close = s.find(']', i + 1);
  if (close == std::string_view::npos || close - i > 256) return false;
  inside = s.substr(i + 1, close - i - 1);
  i = close + 1;
  return true;
}

// A level word ending at a space, ']' or ':' (not consumed); `i` moves past it.
bool LevelWord(std::string_view s, size_t& i, LogLevel& level) {
  size_t k = i;
  while (k < s.size() && k - i < 12 && (IsAlpha(s[k]) || (k > i && IsDigit(s[k])))) ++k;
  if (k == i || (k < s.size() && s[k] != ' ' && s[k] != ']' && s[k] != ':')) return false;
  std::optional<LogLevel> l = TextLevelWord(s.substr(i, k - i));
  if (!l) return false;
  level = *l;
  i = k;
  return true;
}

// The rest of the line after the separator, without leading spaces.
std::string_view Rest(std::string_view s, size_t i) { return s.substr(std::min(SkipSpaces(s, i), s.size())); }

// ---- the formats ------------------------------------------------------------------------------

// "<PRI>" -> facility*8 + severity, 0..191.
bool Priority(std::string_view s, size_t& i, int& pri) {
  size_t k = i;
  int64_t v = 0;
  if (!Expect(s, k, '<') || !SomeDigits(s, k, 3, v) || !Expect(s, k, '>') || v > 191) return false;
  pri = static_cast<int>(v);
  i = k;
  return true;
}

// After the host: "prog[pid]: msg", "prog: msg", or a message with no tag.
void SyslogTag(std::string_view s, size_t i, TextLineMatch& out) {
  size_t k = i;
  while (k < s.size() && k - i <= 48 && s[k] != ' ' && s[k] != '[' && s[k] != ':') ++k;
  const std::string_view program = s.substr(i, k - i);
  size_t after = k;
  std::string_view pid;
  bool tagged = false;
  if (!program.empty() && k < s.size() && s[k] == '[') {
    size_t close = k + 1;
    while (close < s.size() && IsDigit(s[close]) && close - k <= 20) ++close;
    if (close < s.size() && s[close] == ']' && close + 1 < s.size() && s[close + 1] == ':') {
      pid = s.substr(k + 1, close - k - 1);
      after = close + 2;
      tagged = true;
    }
  } else if (!program.empty() && k < s.size() && s[k] == ':' && (k + 1 == s.size() || s[k + 1] == ' ')) {
    after = k + 1;
    tagged = true;
  }
  if (tagged) {
    out.AddField("program", program);
    out.AddField("pid", pid);
    out.message = Rest(s, after);
  } else {
    out.message = s.substr(i);
  }
  if (!out.level) out.level = MessageLeadingLevel(out.message);
}

// RFC 3164 as syslogd and journalctl's "short" write it: "[<PRI>]Mmm dd HH:MM:SS host tag: msg".
bool MatchSyslog(std::string_view s, TextLineMatch& out) {
  size_t i = 0;
  int pri = -1;
  Priority(s, i, pri);
  LineTime t;
  t.has_year = false;
  t.civil.year = 2000;  // a leap year, so "Feb 29" passes the shape check
  if (!MonthName(s, i, t.civil.month) || !Expect(s, i, ' ')) return false;
  if (i < s.size() && s[i] == ' ') ++i;  // "Dec  1": the day is space-padded
  int64_t day = 0;
  if (!SomeDigits(s, i, 2, day) || !Expect(s, i, ' ') || !Clock(s, i, t.civil)) return false;
  t.civil.day = static_cast<int>(day);
  if (!IsValidCivilTime(t.civil) || !Expect(s, i, ' ')) return false;
  std::string_view host;
  if (!Token(s, i, 255, host) || !Expect(s, i, ' ')) return false;
  out.time = t;
  if (pri >= 0) out.level = SyslogSeverityLevel(pri % 8);
  out.AddField("host", host);
  SyslogTag(s, i, out);
  return true;
}

// RFC 5424: "<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG", "-" for a nil value.
bool MatchSyslog5424(std::string_view s, TextLineMatch& out) {
  size_t i = 0;
  int pri = 0;
  int version = 0;
  if (!Priority(s, i, pri) || !Digits(s, i, 1, version) || !Expect(s, i, ' ')) return false;
  if (i < s.size() && s[i] == '-') {
    ++i;
  } else {
    LineTime t;
    if (!IsoTime(s, i, t) || !t.utc_offset_s) return false;
    out.time = t;
  }
  std::string_view host, app, procid, msgid;
  if (!Expect(s, i, ' ') || !Token(s, i, 255, host) || !Expect(s, i, ' ') ||
      !Token(s, i, 48, app) || !Expect(s, i, ' ') || !Token(s, i, 128, procid) ||
      !Expect(s, i, ' ') || !Token(s, i, 32, msgid)) {
    return false;
  }
  std::string_view sd;
  if (i < s.size()) {
    if (!Expect(s, i, ' ')) return false;
    const size_t sd_start = i;
    if (i < s.size() && s[i] == '-') {
      ++i;
    } else {
      // SD-ELEMENTs: "[id k="v" ...]" repeated; inside values '"', '\' and ']' are escaped.
      if (i >= s.size() || s[i] != '[') return false;
      while (i < s.size() && s[i] == '[') {
        ++i;
        while (i < s.size() && s[i] != ']') i += (s[i] == '\\' && i + 1 < s.size()) ? 2 : 1;
        if (!Expect(s, i, ']')) return false;
      }
      sd = s.substr(sd_start, i - sd_start);
    }
    if (i < s.size() && !Expect(s, i, ' ')) return false;
  }
  std::string_view message = s.substr(std::min(i, s.size()));
  if (message.substr(0, 3) == "\xEF\xBB\xBF") message.remove_prefix(3);  // the BOM of UTF-8 MSG
  out.level = SyslogSeverityLevel(pri % 8);
  out.message = message;
  out.AddField("host", host);
  out.AddField("program", app);
  out.AddField("pid", procid);
  out.AddField("msgid", msgid);
  out.AddField("structured_data", sd);
  return true;
}

// journalctl -o short-iso / short-iso-precise: "2026-12-07T08:45:43+0100 host prog[pid]: msg";
// journalctl's default "short" output is the syslog shape.
bool MatchJournal(std::string_view s, TextLineMatch& out) {
  size_t i = 0;
  LineTime t;
  if (!IsoTime(s, i, t) || !t.utc_offset_s || s.size() <= 10 || s[10] != 'T') {
    return MatchSyslog(s, out);
  }
  std::string_view host;
  if (!Expect(s, i, ' ') || !Token(s, i, 255, host) || !Expect(s, i, ' ')) return false;
  out.time = t;
  out.AddField("host", host);
  SyslogTag(s, i, out);
  return out.field_count > 1;  // a tag is what tells this from "TIME word word"
}

// Apache httpd error log: "[Sun Dec 04 04:47:44 2005] [error] msg" (2.2) and
// "[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708:tid 4328636416] [client 1.2.3.4:5] msg".
bool MatchApacheError(std::string_view s, TextLineMatch& out) {
  size_t i = 0;
  LineTime t;
  if (!Expect(s, i, '[') || i + 4 > s.size()) return false;
  i += 3;  // the weekday
  if (!Expect(s, i, ' ') || !MonthName(s, i, t.civil.month) || !Expect(s, i, ' ') ||
      !Digits(s, i, 2, t.civil.day) || !Expect(s, i, ' ') || !Clock(s, i, t.civil) ||
      !Expect(s, i, ' ') || !Digits(s, i, 4, t.civil.year) || !Expect(s, i, ']') ||
      !IsValidCivilTime(t.civil)) {
    return false;
  }
  i = SkipSpaces(s, i);
  std::string_view level_text;
  if (!Bracketed(s, i, level_text)) return false;
  std::string_view module;
  if (const size_t colon = level_text.find(':'); colon != std::string_view::npos) {
    module = level_text.substr(0, colon);
    level_text.remove_prefix(colon + 1);
  }
  std::optional<LogLevel> level = TextLevelWord(level_text);
  if (!level) return false;
  out.time = t;
  out.level = level;
  out.AddField("module", module);
  for (;;) {
    size_t k = SkipSpaces(s, i);
    std::string_view inside;
    if (k >= s.size() || s[k] != '[' || !Bracketed(s, k, inside)) break;
    if (inside.substr(0, 4) == "pid ") {
      std::string_view pid = inside.substr(4);
      if (const size_t tid = pid.find(":tid "); tid != std::string_view::npos) {
        out.AddField("thread", pid.substr(tid + 5));
        pid = pid.substr(0, tid);
      }
      out.AddField("pid", pid);
    } else if (inside.substr(0, 7) == "client ") {
      out.AddField("client", inside.substr(7));
    } else {
      break;
    }
    i = k;
  }
  out.message = Rest(s, i);
  return true;
}

// "YYYY/MM/DD HH:MM:SS" (nginx, Go).
bool SlashDateTime(std::string_view s, size_t& i, LineTime& t) {
  return Digits(s, i, 4, t.civil.year) && Expect(s, i, '/') && Digits(s, i, 2, t.civil.month) &&
         Expect(s, i, '/') && Digits(s, i, 2, t.civil.day) && Expect(s, i, ' ') &&
         Clock(s, i, t.civil) && IsValidCivilTime(t.civil);
}

// nginx error log: "2026/12/07 08:45:43 [error] 123#0: *1 msg".
bool MatchNginxError(std::string_view s, TextLineMatch& out) {
  size_t i = 0;
  LineTime t;
  std::string_view level_text;
  if (!SlashDateTime(s, i, t) || !Expect(s, i, ' ') || !Bracketed(s, i, level_text)) return false;
  std::optional<LogLevel> level = TextLevelWord(level_text);
  if (!level || !Expect(s, i, ' ')) return false;
  const size_t pid_start = i;
  int64_t n = 0;
  if (!SomeDigits(s, i, 10, n) || !Expect(s, i, '#')) return false;
  const std::string_view pid = s.substr(pid_start, i - 1 - pid_start);
  const size_t tid_start = i;
  if (!SomeDigits(s, i, 20, n)) return false;
  const std::string_view tid = s.substr(tid_start, i - tid_start);
  if (!Expect(s, i, ':')) return false;
  out.time = t;
  out.level = level;
  out.AddField("pid", pid);
  out.AddField("thread", tid);
  size_t k = SkipSpaces(s, i);
  if (k < s.size() && s[k] == '*') {
    size_t c = k + 1;
    if (SomeDigits(s, c, 20, n)) {
      out.AddField("connection", s.substr(k + 1, c - k - 1));
      i = c;
    }
  }
  out.message = Rest(s, i);
  return true;
}

// A double-quoted field of an access log, with \" escapes inside.
bool Quoted(std::string_view s, size_t& i, std::string_view& inside) {
  if (i >= s.size() || s[i] != '"') return false;
  size_t k = i + 1;
  while (k < s.size() && s[k] != '"') k += (s[k] == '\\' && k + 1 < s.size()) ? 2 : 1;
  if (k >= s.size()) return false;
  inside = s.substr(i + 1, k - i - 1);
  i = k + 1;
  return true;
}

// NCSA common and combined access logs (Apache, nginx):
// 'host ident user [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326 "referer" "agent"'.
// The level comes from the status: 5xx ERROR, 4xx WARN, else INFO.
bool MatchCombined(std::string_view s, TextLineMatch& out) {
  size_t i = 0;
  std::string_view client, ident, user, request, referer, agent;
  if (!Token(s, i, 255, client) || !Expect(s, i, ' ') || !Token(s, i, 255, ident) ||
      !Expect(s, i, ' ') || !Token(s, i, 255, user) || !Expect(s, i, ' ') || !Expect(s, i, '[')) {
    return false;
  }
  LineTime t;
  if (!Digits(s, i, 2, t.civil.day) || !Expect(s, i, '/') || !MonthName(s, i, t.civil.month) ||
      !Expect(s, i, '/') || !Digits(s, i, 4, t.civil.year) || !Expect(s, i, ':') ||
      !Clock(s, i, t.civil) || !Expect(s, i, ' ') || !Zone(s, i, t.utc_offset_s) ||
      !Expect(s, i, ']') || !Expect(s, i, ' ') || !IsValidCivilTime(t.civil)) {
    return false;
  }
  const size_t message_start = i;
  int status = 0;
  std::string_view bytes;
  if (!Quoted(s, i, request) || !Expect(s, i, ' ') || !Digits(s, i, 3, status) ||
      !Expect(s, i, ' ') || !Token(s, i, 20, bytes)) {
    return false;
  }
  if (i < s.size()) {
    size_t k = i;
    if (Expect(s, k, ' ') && Quoted(s, k, referer) && Expect(s, k, ' ') && Quoted(s, k, agent)) {
      i = k;
    }
  }
  out.time = t;
  out.level = status >= 500 ? LogLevel::kError : status >= 400 ? LogLevel::kWarn : LogLevel::kInfo;
  out.message = s.substr(message_start);
  out.AddField("client", client);
  out.AddField("user", user);
  const size_t sp = request.find(' ');
  if (sp != std::string_view::npos) {
    out.AddField("method", request.substr(0, sp));
    std::string_view path = request.substr(sp + 1);
    out.AddField("path", path.substr(0, path.find(' ')));
  }
  out.AddField("status", s.substr(message_start + request.size() + 3, 3));
  out.AddField("bytes", bytes);
  out.AddField("referer", referer);
  out.AddField("user_agent", agent);
  return true;
}

// Go's log package: "2026/12/07 08:45:43[.123456] [file.go:12: ]msg".
bool MatchGo(std::string_view s, TextLineMatch& out) {
  size_t i = 0;
  LineTime t;
  if (!SlashDateTime(s, i, t) || !Expect(s, i, ' ')) return false;
  out.time = t;
  // log.Lshortfile / Llongfile: "file.go:NN: "
  size_t k = i;
  std::string_view source;
  if (Token(s, k, 4096, source) && source.size() > 4 && source.back() == ':') {
    const size_t go = source.find(".go:");
    if (go != std::string_view::npos) {
      out.AddField("source", source.substr(0, source.size() - 1));
      i = k;
    }
  }
  out.message = Rest(s, i);
  out.level = MessageLeadingLevel(out.message);
  return true;
}

// glog / klog: "I1207 08:45:43.123456    1234 file.go:12] msg", also "I20261207 ..." (glog 0.7).
bool MatchGlog(std::string_view s, TextLineMatch& out) {
  if (s.empty()) return false;
  LogLevel level;
  switch (s[0]) {
    case 'I': level = LogLevel::kInfo; break;
    case 'W': level = LogLevel::kWarn; break;
    case 'E': level = LogLevel::kError; break;
    case 'F': level = LogLevel::kFatal; break;
    default: return false;
  }
  size_t i = 1;
  LineTime t;
  if (i + 8 < s.size() && IsDigit(s[i + 4]) && IsDigit(s[i + 7])) {
    if (!Digits(s, i, 4, t.civil.year)) return false;
  } else {
    t.has_year = false;
    t.civil.year = 2000;
  }
  if (!Digits(s, i, 2, t.civil.month) || !Digits(s, i, 2, t.civil.day) || !Expect(s, i, ' ') ||
      !Clock(s, i, t.civil) || !IsValidCivilTime(t.civil) || !Expect(s, i, ' ')) {
    return false;
  }
  i = SkipSpaces(s, i);
  const size_t tid_start = i;
  int64_t n = 0;
  if (!SomeDigits(s, i, 20, n) || !Expect(s, i, ' ')) return false;
  const std::string_view tid = s.substr(tid_start, i - 1 - tid_start);
  std::string_view source;
  if (!Token(s, i, 4096, source) || source.back() != ']') return false;
  out.time = t;
  out.level = level;
  out.AddField("thread", tid);
  out.AddField("source", source.substr(0, source.size() - 1));
  out.message = Rest(s, i);
  return true;
}

// What follows a log4j-style timestamp: the level (padded), an optional [thread] before or after
// it, Spring Boot's "PID ---", then the logger and its separator. colon_logger: "Logger: msg"
// (Spark's and HDFS's "%c: %m"); otherwise "logger - msg" or Spring's "logger : msg".
bool Log4jTail(std::string_view s, size_t i, bool colon_logger, TextLineMatch& out) {
  std::string_view thread;
  LogLevel level;
  i = SkipSpaces(s, i);
  if (!colon_logger && Bracketed(s, i, thread)) i = SkipSpaces(s, i);
  if (!LevelWord(s, i, level) || !Expect(s, i, ' ')) return false;
  i = SkipSpaces(s, i);
  std::string_view pid;
  if (!colon_logger) {
    size_t k = i;
    int64_t n = 0;
    if (SomeDigits(s, k, 10, n) && ExpectText(s, k, " --- ")) {  // Spring Boot
      pid = s.substr(i, k - 5 - i);
      i = SkipSpaces(s, k);
    }
    if (thread.empty() && Bracketed(s, i, thread)) i = SkipSpaces(s, i);
  }
  size_t k = i;
  while (k < s.size() && s[k] != ' ' && k - i <= 256) ++k;
  if (k == i || k - i > 256) return false;
  std::string_view logger = s.substr(i, k - i);
  if (colon_logger) {
    if (logger.size() < 2 || logger.back() != ':') return false;
    logger.remove_suffix(1);
  } else {
    k = SkipSpaces(s, k);
    if (k >= s.size() || (s[k] != '-' && s[k] != ':') || (k + 1 < s.size() && s[k + 1] != ' ')) {
      return false;
    }
    ++k;
  }
  // Spring Boot pads the thread to 15 columns: "[           main]".
  while (!thread.empty() && thread.front() == ' ') thread.remove_prefix(1);
  while (!thread.empty() && thread.back() == ' ') thread.remove_suffix(1);
  out.level = level;
  out.AddField("logger", logger);
  out.AddField("thread", thread);
  out.AddField("pid", pid);
  out.message = Rest(s, k);
  return true;
}

// log4j / logback / Spring Boot with a full date: "2026-12-07 08:45:43,123 WARN [main] a.B - msg".
bool MatchLog4j(std::string_view s, TextLineMatch& out) {
  size_t i = 0;
  LineTime t;
  // A fraction is what tells a log4j layout's date from a bare ISO time.
  if (!IsoTime(s, i, t, /*allow_zone=*/false) || s.size() < 20 || (s[19] != ',' && s[19] != '.')) {
    return false;
  }
  if (!Log4jTail(s, i, /*colon_logger=*/false, out)) return false;
  out.time = t;
  return true;
}

// log4j as Spark configures it: "17/06/09 20:10:40 INFO SparkContext: Running Spark".
bool MatchSpark(std::string_view s, TextLineMatch& out) {
  size_t i = 0;
  LineTime t;
  if (!Digits(s, i, 2, t.civil.year) || !Expect(s, i, '/') || !Digits(s, i, 2, t.civil.month) ||
      !Expect(s, i, '/') || !Digits(s, i, 2, t.civil.day) || !Expect(s, i, ' ') ||
      !Clock(s, i, t.civil) || !Expect(s, i, ' ')) {
    return false;
  }
  t.civil.year += t.civil.year < 70 ? 2000 : 1900;
  if (!IsValidCivilTime(t.civil) || !Log4jTail(s, i, /*colon_logger=*/true, out)) return false;
  out.time = t;
  return true;
}

// Hadoop HDFS: "081109 203615 148 INFO dfs.DataNode$PacketResponder: msg" (yyMMdd HHmmss pid).
bool MatchHdfs(std::string_view s, TextLineMatch& out) {
  size_t i = 0;
  LineTime t;
  if (!Digits(s, i, 2, t.civil.year) || !Digits(s, i, 2, t.civil.month) ||
      !Digits(s, i, 2, t.civil.day) || !Expect(s, i, ' ') || !Digits(s, i, 2, t.civil.hour) ||
      !Digits(s, i, 2, t.civil.minute) || !Digits(s, i, 2, t.civil.second) || !Expect(s, i, ' ')) {
    return false;
  }
  t.civil.year += t.civil.year < 70 ? 2000 : 1900;
  const size_t pid_start = i;
  int64_t n = 0;
  if (!IsValidCivilTime(t.civil) || !SomeDigits(s, i, 10, n)) return false;
  const std::string_view pid = s.substr(pid_start, i - pid_start);
  if (!Log4jTail(s, i, /*colon_logger=*/true, out)) return false;
  out.time = t;
  out.AddField("pid", pid);
  return true;
}

// Python's logging: basicConfig's "%(levelname)s:%(name)s:%(message)s" and the common
// "%(asctime)s - %(name)s - %(levelname)s - %(message)s".
bool MatchPython(std::string_view s, TextLineMatch& out) {
  static constexpr std::string_view kLevels[] = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};
  for (std::string_view level : kLevels) {
    if (s.size() > level.size() + 2 && s.substr(0, level.size()) == level && s[level.size()] == ':') {
      const size_t name_start = level.size() + 1;
      const size_t colon = s.find(':', name_start);
      if (colon == std::string_view::npos || colon == name_start || colon - name_start > 128) {
        return false;
      }
      const std::string_view name = s.substr(name_start, colon - name_start);
      if (name.find(' ') != std::string_view::npos) return false;
      out.level = TextLevelWord(level);
      out.AddField("logger", name);
      out.message = s.substr(colon + 1);
      return true;
    }
  }
  size_t i = 0;
  LineTime t;
  if (!IsoTime(s, i, t) || !ExpectText(s, i, " - ")) return false;
  const size_t name_end = s.find(" - ", i);
  if (name_end == std::string_view::npos || name_end == i || name_end - i > 128) return false;
  const std::string_view name = s.substr(i, name_end - i);
  i = name_end + 3;
  LogLevel level;
  if (!LevelWord(s, i, level) || !ExpectText(s, i, " - ")) return false;
  out.time = t;
  out.level = level;
  out.AddField("logger", name);
  out.message = s.substr(i);
  return true;
}

// An ISO 8601 / RFC 3339 time then a level word: "2026-12-07T08:45:43.123Z ERROR msg",
// "2026-12-07 08:45:43 [warn] msg", "2026-12-07T08:45:43+01:00 INFO: msg".
bool MatchIso8601(std::string_view s, TextLineMatch& out) {
  size_t i = 0;
  LineTime t;
  if (!IsoTime(s, i, t) || !Expect(s, i, ' ')) return false;
  i = SkipSpaces(s, i);
  const bool bracketed = Expect(s, i, '[');
  LogLevel level;
  if (!LevelWord(s, i, level)) return false;
  if (bracketed && !Expect(s, i, ']')) return false;
  Expect(s, i, ':');
  if (i < s.size() && s[i] != ' ') return false;
  out.time = t;
  out.level = level;
  out.message = Rest(s, i);
  return true;
}

constexpr TextLogFormat kFormats[] = {
    {"syslog5424", "syslog RFC 5424", "<165>1 2026-12-07T08:45:43.123Z host app 42 ID47 - msg",
     MatchSyslog5424},
    {"syslog", "syslog RFC 3164 (also journalctl's default output)",
     "Dec 10 06:55:46 host sshd[24200]: msg", MatchSyslog},
    {"apache-error", "Apache httpd error log", "[Sun Dec 04 04:47:44 2005] [error] msg",
     MatchApacheError},
    {"nginx-error", "nginx error log", "2026/12/07 08:45:43 [error] 123#0: *1 msg", MatchNginxError},
    {"combined", "NCSA common/combined access log (level from the status)",
     "1.2.3.4 - - [07/Dec/2026:08:45:43 +0000] \"GET / HTTP/1.1\" 200 512", MatchCombined},
    {"glog", "glog/klog", "I1207 08:45:43.123456 1234 file.go:12] msg", MatchGlog},
    {"go", "Go's log package (level from the message's first word)",
     "2026/12/07 08:45:43 msg", MatchGo},
    {"hdfs", "log4j as Hadoop HDFS writes it", "081109 203615 148 INFO dfs.DataNode: msg",
     MatchHdfs},
    {"spark", "log4j as Spark writes it", "17/06/09 20:10:40 INFO SparkContext: msg", MatchSpark},
    {"python", "Python logging (basicConfig's default and asctime - name - level)",
     "2026-12-07 08:45:43,123 - app - WARNING - msg", MatchPython},
    {"log4j", "log4j/logback/Spring Boot with a date",
     "2026-12-07 08:45:43,123 WARN [main] com.x.Foo - msg", MatchLog4j},
    {"iso8601", "ISO 8601/RFC 3339 time then a level", "2026-12-07T08:45:43Z ERROR msg",
     MatchIso8601},
    {"journal", "journalctl -o short-iso", "2026-12-07T08:45:43+0100 host sshd[42]: msg",
     MatchJournal},
};

}  // namespace

void TextLineMatch::AddField(std::string_view key, std::string_view value) {
  if (value.empty() || value == "-" || field_count == kMaxFields) return;
  fields[field_count++] = {key, value};
}

std::span<const TextLogFormat> TextLogFormats() { return kFormats; }

const TextLogFormat* FindTextLogFormat(std::string_view name) {
  for (const TextLogFormat& f : kFormats) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::optional<LogLevel> TextLevelWord(std::string_view word) {
  if (word.empty() || word.size() > 12) return std::nullopt;
  char lower[12];
  for (size_t k = 0; k < word.size(); ++k) lower[k] = Lower(word[k]);
  const std::string_view w(lower, word.size());
  if (w == "severe") return LogLevel::kError;
  if (w == "config") return LogLevel::kInfo;
  if (w == "fine" || w == "finer" || w == "finest") return LogLevel::kDebug;
  if (w.size() == 6 && w.substr(0, 5) == "trace" && w[5] >= '1' && w[5] <= '8') {
    return LogLevel::kDebug;
  }
  return ParseLogLevel(w);
}

std::optional<LogLevel> MessageLeadingLevel(std::string_view m) {
  size_t i = 0;
  const bool bracketed = Expect(m, i, '[');
  const size_t start = i;
  bool upper = true;
  for (; i < m.size() && i - start < 10 && IsAlpha(m[i]); ++i) upper = upper && m[i] <= 'Z';
  if (i == start || i - start > 9) return std::nullopt;
  const std::string_view word = m.substr(start, i - start);
  const bool ends = bracketed ? (i < m.size() && m[i] == ']')
                              : (i < m.size() && m[i] == ':') ||
                                    (upper && (i == m.size() || m[i] == ' '));
  if (!ends) return std::nullopt;
  return TextLevelWord(word);
}

LogLevel SyslogSeverityLevel(int severity) {
  if (severity <= 2) return LogLevel::kFatal;
  if (severity == 3) return LogLevel::kError;
  if (severity == 4) return LogLevel::kWarn;
  if (severity == 7) return LogLevel::kDebug;
  return LogLevel::kInfo;
}

}  // namespace mesh
