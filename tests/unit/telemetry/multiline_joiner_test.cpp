#include "mesh/telemetry/multiline_joiner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace mesh {
namespace telemetry_multiline_joiner_test {

constexpr int64_t kMs = 1'000'000;

LogRecord Record(std::string message, LogLevel level = LogLevel::kError) {
  LogRecord r;
  r.ts_ns = 42;
  r.service = "svc";
  r.level = level;
  r.message = std::move(message);
  r.attributes = R"({"logger":"a.B"})";
  return r;
}

// Feeds lines as ingest does: a continuation joins, anything else starts a record.
std::vector<LogRecord> Feed(MultilineJoiner& joiner, const std::vector<std::string>& lines) {
  std::vector<LogRecord> out;
  for (const std::string& line : lines) {
    std::optional<LogRecord> full;
    if (joiner.Join(line, 0, full) != Continuation::kNone) {
      if (full) out.push_back(std::move(*full));
      continue;
    }
    if (std::optional<LogRecord> previous = joiner.Start(Record(line), 0)) out.push_back(*previous);
  }
  if (std::optional<LogRecord> last = joiner.Take()) out.push_back(*last);
  return out;
}

TEST(MultilineJoiner, JavaStackTraceWithCausesJoinsTheLineBefore) {
  MultilineJoiner joiner({});
  const std::vector<std::string> trace = {
      "2026-12-07 08:45:43,123 ERROR [main] com.x.Foo - request failed",
      "java.lang.IllegalStateException: boom",
      "\tat com.x.Foo.bar(Foo.java:10)",
      "\tat com.x.Foo.main(Foo.java:5)",
      "Caused by: java.io.IOException: disk full",
      "\tat java.io.FileOutputStream.write(FileOutputStream.java:326)",
      "\t... 2 more",
      "\tSuppressed: java.lang.RuntimeException: close failed",
      "\t\tat com.x.Foo.close(Foo.java:20)",
  };
  std::vector<std::string> lines = trace;
  lines.push_back("2026-12-07 08:45:44,000 INFO [main] com.x.Foo - next");
  const std::vector<LogRecord> records = Feed(joiner, lines);
  ASSERT_EQ(records.size(), 2u);
  std::string joined;
  for (const std::string& l : trace) joined += (joined.empty() ? "" : "\n") + l;
  EXPECT_EQ(records[0].message, joined);
  EXPECT_EQ(records[1].message, lines.back());
  EXPECT_EQ(joiner.counters().joined_lines, trace.size() - 1);
}

TEST(MultilineJoiner, PythonTracebackEndsAtItsExceptionLine) {
  MultilineJoiner joiner({});
  const std::vector<LogRecord> records = Feed(joiner, {
      "ERROR:root:handler failed",
      "Traceback (most recent call last):",
      "  File \"app.py\", line 3, in <module>",
      "    main()",
      "KeyError: 'user'",
      "During handling of the above exception, another exception occurred:",
      "Traceback (most recent call last):",
      "  File \"app.py\", line 5, in <module>",
      "ValueError: bad",
      "INFO:root:after",
  });
  ASSERT_EQ(records.size(), 2u) << records[0].message;
  EXPECT_EQ(records[0].message,
            "ERROR:root:handler failed\nTraceback (most recent call last):\n"
            "  File \"app.py\", line 3, in <module>\n    main()\nKeyError: 'user'\n"
            "During handling of the above exception, another exception occurred:\n"
            "Traceback (most recent call last):\n  File \"app.py\", line 5, in <module>\nValueError: bad");
  EXPECT_EQ(records[1].message, "INFO:root:after");
}

TEST(MultilineJoiner, OrdinaryLinesStayRecordsOfTheirOwn) {
  MultilineJoiner joiner({});
  const std::vector<LogRecord> records = Feed(joiner, {
      "starting", "  indented but not a frame", "Exception handling enabled",
      "com.example.Service: started", "ValueError: outside a traceback", "... 2 more things"});
  EXPECT_EQ(records.size(), 6u);
}

TEST(MultilineJoiner, ContinuationWithoutARecordBeforeItStartsOne) {
  MultilineJoiner joiner({});
  std::optional<LogRecord> full;
  EXPECT_EQ(joiner.Join("\tat com.x.Foo.bar(Foo.java:10)", 0, full), Continuation::kNone);
  EXPECT_FALSE(full);
}

TEST(MultilineJoiner, RecordBeyondItsLineCapContinuesInANewRecordWithTheSameFields) {
  MultilineJoiner joiner({.max_lines = 3, .max_bytes = 1 << 20, .idle_flush_ns = kMs});
  std::vector<std::string> lines = {"ERROR failed"};
  for (int k = 0; k < 5; ++k) lines.push_back("\tat f" + std::to_string(k) + "(A.java:1)");
  const std::vector<LogRecord> records = Feed(joiner, lines);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].message, "ERROR failed\n\tat f0(A.java:1)\n\tat f1(A.java:1)");
  EXPECT_EQ(records[1].message, "\tat f2(A.java:1)\n\tat f3(A.java:1)\n\tat f4(A.java:1)");
  EXPECT_EQ(records[1].level, LogLevel::kError);
  EXPECT_EQ(records[1].ts_ns, records[0].ts_ns);
  EXPECT_EQ(records[1].attributes, records[0].attributes);
  EXPECT_EQ(joiner.counters().split_records, 1u);
}

TEST(MultilineJoiner, RecordBeyondItsByteCapIsSplitNotDropped) {
  MultilineJoiner joiner({.max_lines = 1000, .max_bytes = 64, .idle_flush_ns = kMs});
  std::vector<std::string> lines = {"ERROR failed"};
  size_t total = lines[0].size();
  for (int k = 0; k < 10; ++k) {
    lines.push_back("\tat com.example.f" + std::to_string(k) + "(A.java:1)");
    total += lines.back().size();
  }
  const std::vector<LogRecord> records = Feed(joiner, lines);
  ASSERT_GT(records.size(), 1u);
  size_t kept = 0;
  for (const LogRecord& r : records) {
    EXPECT_LE(r.message.size(), 64u);
    kept += r.message.size() - std::count(r.message.begin(), r.message.end(), '\n');
  }
  EXPECT_EQ(kept, total);
}

TEST(MultilineJoiner, PendingRecordIsHandedOverOnlyAfterTheIdleTime) {
  MultilineJoiner joiner({.max_lines = 1000, .max_bytes = 1 << 20, .idle_flush_ns = 500 * kMs});
  EXPECT_FALSE(joiner.IdleDeadline());
  EXPECT_FALSE(joiner.Start(Record("ERROR failed"), 1000 * kMs));
  EXPECT_EQ(joiner.IdleDeadline(), 1500 * kMs);
  EXPECT_FALSE(joiner.TakeIfIdle(1499 * kMs));
  std::optional<LogRecord> full;
  EXPECT_EQ(joiner.Join("\tat a(A.java:1)", 1400 * kMs, full), Continuation::kJavaStackTrace);
  EXPECT_FALSE(joiner.TakeIfIdle(1899 * kMs));  // the joined line moved the deadline
  std::optional<LogRecord> r = joiner.TakeIfIdle(1900 * kMs);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message, "ERROR failed\n\tat a(A.java:1)");
  EXPECT_FALSE(joiner.IdleDeadline());
  EXPECT_FALSE(joiner.Take());
}

TEST(MultilineJoiner, JoinedInvalidUtf8IsRepaired) {
  MultilineJoiner joiner({});
  joiner.Start(Record("ERROR x"), 0);
  std::optional<LogRecord> full;
  ASSERT_NE(joiner.Join(std::string("\tat a\xFF\0b", 8), 0, full), Continuation::kNone);
  EXPECT_EQ(joiner.Take()->message, "ERROR x\n\tat a\xEF\xBF\xBD\xEF\xBF\xBD" "b");
}

}  // namespace
}  // namespace mesh
