#include "mesh/telemetry/logger.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <limits>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mesh/base/json_text.h"
#include "mesh/base/utf8.h"
#include "mesh/sdk/log_sinks.h"
#include "mesh/store/log_store.h"
#include "mesh/store/store.h"
#include "in_process_meshd.h"
#include "test_support.h"

namespace mesh {
namespace telemetry_logger_test {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kNov25 = int64_t{1'764'075'600} * 1'000'000'000;  // 2025-11-25T13:00:00Z
constexpr const char* kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kSpan = "00f067aa0ba902b7";
constexpr const char* kInnerTrace = "0af7651916cd43dd8448eb211c80319c";
constexpr const char* kInnerSpan = "b7ad6b7169203331";

// Keeps every record it is given.
class CaptureSink : public LogSink {
 public:
  void Write(const LogRecord& record) override {
    std::lock_guard lock(mu_);
    records_.push_back(record);
  }
  void Flush() override { ++flushes_; }
  std::vector<LogRecord> records() {
    std::lock_guard lock(mu_);
    return records_;
  }
  int flushes() const { return flushes_; }

 private:
  std::mutex mu_;
  std::vector<LogRecord> records_;
  int flushes_ = 0;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

Json::Value ParseOrDie(const std::string& text) {
  Result<Json::Value> v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << text << ": " << v.status().message();
  return v.ok() ? *v : Json::Value();
}

class LoggerTest : public ::testing::Test {
 protected:
  testing::FakeClock clock_{kNov25 + 120'000'000};
  std::shared_ptr<CaptureSink> sink_ = std::make_shared<CaptureSink>();
  testing::TempDir dir_;
};

TEST_F(LoggerTest, DropsRecordsBelowTheMinimumLevel) {
  Logger log("svc", LogLevel::kWarn, clock_);
  log.AddSink(sink_);
  log.Debug("d");
  log.Info("i");
  log.Warn("w");
  log.Error("e");
  log.Fatal("f");
  std::vector<std::string> messages;
  for (const LogRecord& r : sink_->records()) messages.push_back(r.message);
  EXPECT_THAT(messages, ElementsAre("w", "e", "f"));
  EXPECT_FALSE(log.Enabled(LogLevel::kInfo));
  EXPECT_TRUE(log.Enabled(LogLevel::kWarn));
}

TEST_F(LoggerTest, SetMinLevelChangesWhatIsKept) {
  Logger log("svc", LogLevel::kInfo, clock_);
  log.AddSink(sink_);
  log.Debug("dropped");
  log.set_min_level(LogLevel::kDebug);
  log.Debug("kept");
  ASSERT_EQ(sink_->records().size(), 1u);
  EXPECT_EQ(sink_->records()[0].message, "kept");
  EXPECT_EQ(sink_->records()[0].level, LogLevel::kDebug);
}

TEST_F(LoggerTest, RecordCarriesClockTimeServiceLevelAndMessage) {
  Logger log("checkout", LogLevel::kInfo, clock_);
  log.AddSink(sink_);
  log.Error("payment declined");
  clock_.Advance(1'000'000);
  log.Info("second");
  const std::vector<LogRecord> records = sink_->records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].ts_ns, kNov25 + 120'000'000);
  EXPECT_EQ(records[0].service, "checkout");
  EXPECT_EQ(records[0].level, LogLevel::kError);
  EXPECT_EQ(records[0].message, "payment declined");
  EXPECT_EQ(records[0].trace_id, "");
  EXPECT_EQ(records[0].attributes, "");
  EXPECT_EQ(records[1].ts_ns, kNov25 + 121'000'000);
}

TEST_F(LoggerTest, StreamSinkWritesOneJsonLinePerRecord) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Logger log("checkout", LogLevel::kInfo, clock_);
    log.AddSink(MakeStreamSink(f));
    log.Info("order placed", {{"order_id", 42}, {"total", 19.99}, {"paid", true}, {"who", "ann"}});
    log.Warn("slow");
  }
  std::rewind(f);
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);

  const std::vector<std::string> lines = Lines(text);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            R"({"timestamp":"2025-11-25T13:00:00.120Z","level":"INFO","service":"checkout",)"
            R"("message":"order placed","order_id":42,"total":19.99,"paid":true,"who":"ann"})");
  const Json::Value second = ParseOrDie(lines[1]);
  EXPECT_EQ(second["level"].asString(), "WARN");
  EXPECT_EQ(second["message"].asString(), "slow");
  EXPECT_EQ(second["timestamp"].asString(), "2025-11-25T13:00:00.120Z");
}

TEST_F(LoggerTest, FieldsEncodeEachTypeAsJson) {
  Logger log("svc", LogLevel::kInfo, clock_);
  log.AddSink(sink_);
  log.Info("m", {{"i", -7},
                 {"u", uint64_t{18446744073709551615u}},
                 {"d", 0.1},
                 {"nan", std::numeric_limits<double>::quiet_NaN()},
                 {"inf", std::numeric_limits<double>::infinity()},
                 {"b", false},
                 {"s", std::string("quote \" backslash \\ newline \n")},
                 {"sv", std::string_view("view")}});
  ASSERT_EQ(sink_->records().size(), 1u);
  EXPECT_EQ(sink_->records()[0].attributes,
            R"({"i":-7,"u":18446744073709551615,"d":0.1,"nan":null,"inf":null,"b":false,)"
            R"("s":"quote \" backslash \\ newline \n","sv":"view"})");
}

TEST_F(LoggerTest, ReservedFieldNamesGetAnAttrPrefix) {
  Logger log("svc", LogLevel::kInfo, clock_);
  log.AddSink(sink_);
  log.Info("m", {{"level", "custom"},
                 {"message", 1},
                 {"timestamp", 2},
                 {"service", 3},
                 {"trace_id", 4},
                 {"span_id", 5},
                 {"levels", 6}});
  const LogRecord r = sink_->records().at(0);
  EXPECT_EQ(r.level, LogLevel::kInfo);
  EXPECT_EQ(r.message, "m");
  EXPECT_EQ(r.attributes,
            R"({"attr.level":"custom","attr.message":1,"attr.timestamp":2,"attr.service":3,)"
            R"("attr.trace_id":4,"attr.span_id":5,"levels":6})");
  // The JSON line therefore has each name once.
  const Json::Value line = ParseOrDie(ToJson(r));
  EXPECT_EQ(line["level"].asString(), "INFO");
  EXPECT_EQ(line["attr.level"].asString(), "custom");
}

TEST_F(LoggerTest, InvalidUtf8InMessageAndFieldsIsSanitized) {
  Logger log("sv\xFF", LogLevel::kInfo, clock_);
  log.AddSink(sink_);
  log.Info(std::string_view("bad \xC3 and nul \0 end", 19), {{"k\xFE", "v\xFF"}});
  const LogRecord r = sink_->records().at(0);
  EXPECT_TRUE(IsCleanUtf8(r.service));
  EXPECT_TRUE(IsCleanUtf8(r.message));
  EXPECT_TRUE(IsCleanUtf8(r.attributes));
  EXPECT_THAT(r.message, HasSubstr("end"));
  EXPECT_TRUE(ParseJson(ToJson(r)).ok());
}

TEST_F(LoggerTest, ScopedTraceContextIdsAppearAndNestAndRestore) {
  Logger log("svc", LogLevel::kInfo, clock_);
  log.AddSink(sink_);
  log.Info("before");
  {
    ScopedTraceContext outer(kTrace, kSpan);
    EXPECT_EQ(CurrentTraceContext().trace_id, kTrace);
    log.Info("outer");
    {
      ScopedTraceContext inner(kInnerTrace, kInnerSpan);
      log.Info("inner");
    }
    log.Info("outer again");
  }
  log.Info("after");
  const std::vector<LogRecord> r = sink_->records();
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0].trace_id, "");
  EXPECT_EQ(r[1].trace_id, kTrace);
  EXPECT_EQ(r[1].span_id, kSpan);
  EXPECT_EQ(r[2].trace_id, kInnerTrace);
  EXPECT_EQ(r[2].span_id, kInnerSpan);
  EXPECT_EQ(r[3].trace_id, kTrace);
  EXPECT_EQ(r[3].span_id, kSpan);
  EXPECT_EQ(r[4].trace_id, "");
  EXPECT_EQ(r[4].span_id, "");
  EXPECT_EQ(CurrentTraceContext().trace_id, "");
  const Json::Value json = ParseOrDie(ToJson(r[1]));
  EXPECT_EQ(json["trace_id"].asString(), kTrace);
  EXPECT_EQ(json["span_id"].asString(), kSpan);
}

TEST_F(LoggerTest, TraceContextBelongsToItsThread) {
  Logger log("svc", LogLevel::kInfo, clock_);
  log.AddSink(sink_);
  ScopedTraceContext here(kTrace, kSpan);
  std::thread([&] { log.Info("other thread"); }).join();
  log.Info("this thread");
  const std::vector<LogRecord> r = sink_->records();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].trace_id, "");
  EXPECT_EQ(r[1].trace_id, kTrace);
}

TEST_F(LoggerTest, WritesToEverySinkAndFlushesThem) {
  auto second = std::make_shared<CaptureSink>();
  Logger log("svc", LogLevel::kInfo, clock_);
  log.AddSink(sink_);
  log.AddSink(second);
  log.Info("both");
  log.Flush();
  EXPECT_EQ(sink_->records().size(), 1u);
  EXPECT_EQ(second->records().size(), 1u);
  EXPECT_EQ(sink_->flushes(), 1);
  EXPECT_EQ(second->flushes(), 1);
}

TEST_F(LoggerTest, ConcurrentLoggingKeepsEveryRecord) {
  Logger log("svc", LogLevel::kInfo, clock_);
  log.AddSink(sink_);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < 500; ++i) log.Info("m", {{"t", t}, {"i", i}});
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(sink_->records().size(), 2000u);
}

TEST_F(LoggerTest, FileSinkCreatesAndAppends) {
  const std::string path = dir_.File("app.log");
  testing::WriteFile(path, "existing line\n");
  {
    Result<std::shared_ptr<LogSink>> sink = MakeFileSink(path);
    ASSERT_TRUE(sink.ok()) << sink.status().message();
    Logger log("svc", LogLevel::kInfo, clock_);
    log.AddSink(*sink);
    log.Info("first");
  }
  {
    Result<std::shared_ptr<LogSink>> sink = MakeFileSink(path);
    ASSERT_TRUE(sink.ok());
    Logger log("svc", LogLevel::kInfo, clock_);
    log.AddSink(*sink);
    log.Info("second");
  }
  const std::vector<std::string> lines = Lines(testing::ReadFile(path));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "existing line");
  EXPECT_EQ(ParseOrDie(lines[1])["message"].asString(), "first");
  EXPECT_EQ(ParseOrDie(lines[2])["message"].asString(), "second");
}

TEST_F(LoggerTest, FileSinkInAMissingFolderIsIOErrorNamingThePath) {
  const std::string path = dir_.File("no/such/dir/app.log");
  Result<std::shared_ptr<LogSink>> sink = MakeFileSink(path);
  ASSERT_FALSE(sink.ok());
  EXPECT_EQ(sink.status().code(), Status::Code::kIOError);
  EXPECT_THAT(sink.status().message(), HasSubstr(path));
}

TEST_F(LoggerTest, StoreSinkCommitsRecordsReadableThroughLogStore) {
  const std::string path = dir_.File("store/mesh.db");
  {
    Result<std::shared_ptr<LogSink>> sink = MakeStoreSink(path);
    ASSERT_TRUE(sink.ok()) << sink.status().message();
    Logger log("checkout", LogLevel::kInfo, clock_);
    log.AddSink(*sink);
    ScopedTraceContext context(kTrace, kSpan);
    log.Info("order placed", {{"order_id", 42}});
    log.Error("payment declined");
    log.Debug("dropped");
  }  // the sink flushes when destroyed

  Result<std::unique_ptr<Store>> store = Store::Open({.path = path, .create_if_missing = false});
  ASSERT_TRUE(store.ok()) << store.status().message();
  LogStore logs(**store);
  Result<std::vector<LogRecord>> tail = logs.Tail({}, 10);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->size(), 2u);
  EXPECT_EQ((*tail)[0].message, "order placed");
  EXPECT_EQ((*tail)[0].service, "checkout");
  EXPECT_EQ((*tail)[0].ts_ns, kNov25 + 120'000'000);
  EXPECT_EQ((*tail)[0].trace_id, kTrace);
  EXPECT_EQ((*tail)[0].span_id, kSpan);
  EXPECT_EQ((*tail)[0].attributes, R"({"order_id":42})");
  EXPECT_EQ((*tail)[1].level, LogLevel::kError);
  Result<std::vector<LogRecord>> found = logs.Search("declined", {}, 10, false);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
}

TEST_F(LoggerTest, StoreSinkFlushMakesRecordsVisibleToOtherConnections) {
  const std::string path = dir_.File("mesh.db");
  Result<std::shared_ptr<LogSink>> sink = MakeStoreSink(path);
  ASSERT_TRUE(sink.ok()) << sink.status().message();
  Logger log("svc", LogLevel::kInfo, clock_);
  log.AddSink(*sink);
  for (int i = 0; i < 5; ++i) log.Info("r" + std::to_string(i));
  log.Flush();
  Result<std::unique_ptr<Store>> store = Store::Open({.path = path});
  ASSERT_TRUE(store.ok());
  LogStore logs(**store);
  EXPECT_EQ(*logs.LatestCursor(), 5);
}

TEST_F(LoggerTest, StoreSinkOnABadPathFailsLikeStoreOpen) {
  Result<std::shared_ptr<LogSink>> sink = MakeStoreSink(dir_.path());
  ASSERT_FALSE(sink.ok());
  EXPECT_EQ(sink.status().code(), Status::Code::kInvalidArgument);
}

TEST(MeshdSink, ShipsRecordsToMeshdAndOutlivesAnOutage) {
  testing::TempDir dir;
  testing::InProcessMeshd meshd(dir.File("mesh.db"));
  Result<std::shared_ptr<LogSink>> sink = MakeMeshdSink(meshd.url());
  ASSERT_TRUE(sink.ok()) << sink.status().message();
  Logger log("shipper");
  log.AddSink(*sink);
  const auto stored = [&] {
    const std::string body = meshd.Request("GET", "/v1/logs?service=shipper&limit=100").body;
    size_t n = 0;
    for (size_t at = body.find("\"message\""); at != std::string::npos; at = body.find("\"message\"", at + 1)) ++n;
    return n;
  };
  log.Info("one");
  log.Info("two");
  log.Flush();
  EXPECT_EQ(stored(), 2u);
  meshd.Stop();
  log.Warn("lost");
  log.Flush();
  EXPECT_EQ((*sink)->failures(), 1u);
  meshd.Restart();
  log.Info("three");
  log.Flush();
  EXPECT_EQ(stored(), 3u);
}

TEST(MeshdSink, RejectsAUrlThatIsNotHttp) {
  EXPECT_EQ(MakeMeshdSink("127.0.0.1:9000").status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace mesh
