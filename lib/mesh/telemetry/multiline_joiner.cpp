#include "mesh/telemetry/multiline_joiner.h"

#include "mesh/base/utf8.h"

namespace mesh {
namespace {

bool IsIdentifierChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '$';
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// "a.b.C", "ValueError", "pkg.mod.Error": dotted identifiers, and where the name ends.
size_t DottedName(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && i < 512) {
    const size_t start = i;
    while (i < s.size() && IsIdentifierChar(s[i])) ++i;
    if (i == start) return 0;
    if (i < s.size() && s[i] == '.') {
      ++i;
      continue;
    }
    return i;
  }
  return 0;
}

bool EndsWithAny(std::string_view name) {
  for (std::string_view suffix : {"Exception", "Error", "Throwable"}) {
    if (name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix) return true;
  }
  return false;
}

// "java.lang.IllegalStateException" or "...Exception: message": a qualified class whose simple
// name says it is a throwable.
bool IsJavaExceptionLine(std::string_view line) {
  const size_t end = DottedName(line);
  if (end == 0) return false;
  const std::string_view name = line.substr(0, end);
  if (name.find('.') == std::string_view::npos) return false;
  const size_t last_dot = name.rfind('.');
  if (!EndsWithAny(name.substr(last_dot + 1))) return false;
  return end == line.size() || line[end] == ':';
}

// "ValueError: bad", "KeyboardInterrupt", "mod.CustomError: x": a traceback's last line.
bool IsPythonExceptionLine(std::string_view line) {
  const size_t end = DottedName(line);
  return end > 0 && (end == line.size() || line[end] == ':');
}

}  // namespace

Continuation ClassifyContinuation(std::string_view line, bool& in_traceback) {
  size_t indent = 0;
  while (indent < line.size() && (line[indent] == ' ' || line[indent] == '\t')) ++indent;
  const std::string_view body = line.substr(indent);
  if (StartsWith(line, "Traceback (most recent call last):")) {
    in_traceback = true;
    return Continuation::kPythonTraceback;
  }
  // Python's chained exceptions: the sentence between two tracebacks.
  if (StartsWith(line, "During handling of the above exception, another exception occurred") ||
      StartsWith(line, "The above exception was the direct cause of the following exception")) {
    return Continuation::kPythonTraceback;
  }
  if (in_traceback) {
    if (indent > 0) return Continuation::kPythonTraceback;
    in_traceback = false;
    if (IsPythonExceptionLine(line)) return Continuation::kPythonTraceback;
  }
  if (indent > 0 && (StartsWith(body, "at ") || StartsWith(body, "Suppressed: "))) {
    return Continuation::kJavaStackTrace;
  }
  if (StartsWith(body, "...") && body.size() > 8 && body.substr(body.size() - 5) == " more") {
    return Continuation::kJavaStackTrace;
  }
  if (StartsWith(body, "Caused by: ") || (indent == 0 && IsJavaExceptionLine(line))) {
    return Continuation::kJavaStackTrace;
  }
  return Continuation::kNone;
}

Continuation MultilineJoiner::Join(std::string_view line, int64_t now_mono_ns,
                                   std::optional<LogRecord>& full) {
  if (!pending_) return Continuation::kNone;
  const Continuation kind = ClassifyContinuation(line, in_traceback_);
  if (kind == Continuation::kNone) return kind;
  last_line_ns_ = now_mono_ns;
  ++counters_.joined_lines;
  if (pending_lines_ + 1 > limits_.max_lines ||
      pending_->message.size() + 1 + line.size() > limits_.max_bytes) {
    LogRecord next = *pending_;
    next.message.clear();
    AppendSanitizedUtf8(next.message, line);
    full = std::move(pending_);
    pending_ = std::move(next);
    pending_lines_ = 1;
    ++counters_.split_records;
    return kind;
  }
  pending_->message += '\n';
  AppendSanitizedUtf8(pending_->message, line);  // the line has not been through the parser
  ++pending_lines_;
  return kind;
}

std::optional<LogRecord> MultilineJoiner::Start(LogRecord record, int64_t now_mono_ns) {
  std::optional<LogRecord> previous = std::move(pending_);
  pending_ = std::move(record);
  pending_lines_ = 1;
  last_line_ns_ = now_mono_ns;
  in_traceback_ = false;
  return previous;
}

std::optional<LogRecord> MultilineJoiner::Take() {
  std::optional<LogRecord> previous = std::move(pending_);
  pending_.reset();
  in_traceback_ = false;
  return previous;
}

std::optional<LogRecord> MultilineJoiner::TakeIfIdle(int64_t now_mono_ns) {
  if (!pending_ || now_mono_ns - last_line_ns_ < limits_.idle_flush_ns) return std::nullopt;
  return Take();
}

std::optional<int64_t> MultilineJoiner::IdleDeadline() const {
  if (!pending_) return std::nullopt;
  return last_line_ns_ + limits_.idle_flush_ns;
}

}  // namespace mesh
