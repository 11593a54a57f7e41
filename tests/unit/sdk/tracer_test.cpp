#include "mesh/sdk/tracer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mesh/base/json_text.h"
#include "mesh/base/trace_id.h"
#include "mesh/http_server/http_server.h"
#include "mesh/store/span_store.h"
#include "mesh/telemetry/otlp.h"
#include "test_support.h"

namespace mesh {
namespace sdk_tracer_test {

using ::testing::HasSubstr;

constexpr char kIncoming[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// Records every batch; fails or throws on demand. Checks that exports never overlap, since
// the Tracer promises exporters need not be thread-safe.
class FakeExporter : public SpanExporter {
 public:
  enum class Mode { kOk, kFail, kThrow };
  explicit FakeExporter(Mode mode = Mode::kOk) : mode_(mode) {}

  Status Export(const std::vector<Span>& spans) override {
    if (busy_.exchange(true)) overlapped_ = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      batches_.push_back(spans);
    }
    busy_ = false;
    if (mode_ == Mode::kThrow) throw std::runtime_error("exporter blew up");
    return mode_ == Mode::kFail ? Status::IOError("collector unreachable") : Status::Ok();
  }

  std::vector<size_t> BatchSizes() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<size_t> sizes;
    for (const auto& b : batches_) sizes.push_back(b.size());
    return sizes;
  }
  std::vector<Span> Spans() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Span> all;
    for (const auto& b : batches_) all.insert(all.end(), b.begin(), b.end());
    return all;
  }
  bool overlapped() const { return overlapped_; }

 private:
  Mode mode_;
  mutable std::mutex mu_;
  std::vector<std::vector<Span>> batches_;
  std::atomic<bool> busy_{false};
  std::atomic<bool> overlapped_{false};
};

const Span* FindByName(const std::vector<Span>& spans, const std::string& name) {
  for (const Span& s : spans) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

TEST(Tracer, RootAndChildrenShareTheTraceIdAndLinkTheirParents) {
  FakeExporter exporter;
  Tracer tracer("checkout", exporter);
  std::string root_id, child_id;
  {
    ScopedSpan root = tracer.StartSpan("GET /cart", SpanKind::kServer);
    ScopedSpan child = tracer.StartChild(root, "SELECT cart", SpanKind::kClient);
    ScopedSpan grandchild = tracer.StartChild(child, "parse");
    root_id = root.span_id();
    child_id = child.span_id();
    EXPECT_TRUE(IsValidTraceId(root.trace_id()));
    EXPECT_TRUE(IsValidSpanId(root.span_id()));
    EXPECT_EQ(child.trace_id(), root.trace_id());
    EXPECT_EQ(grandchild.trace_id(), root.trace_id());
    EXPECT_NE(child.span_id(), root.span_id());
  }
  ASSERT_TRUE(tracer.Flush().ok());
  const std::vector<Span> spans = exporter.Spans();
  ASSERT_EQ(spans.size(), 3u);
  const Span* root = FindByName(spans, "GET /cart");
  const Span* child = FindByName(spans, "SELECT cart");
  const Span* grandchild = FindByName(spans, "parse");
  ASSERT_TRUE(root && child && grandchild);
  EXPECT_EQ(root->parent_span_id, "");
  EXPECT_EQ(child->parent_span_id, root_id);
  EXPECT_EQ(grandchild->parent_span_id, child_id);
  EXPECT_EQ(root->kind, SpanKind::kServer);
  EXPECT_EQ(child->kind, SpanKind::kClient);
  EXPECT_EQ(grandchild->kind, SpanKind::kInternal);
  for (const Span& s : spans) {
    EXPECT_EQ(s.trace_id, root->trace_id);
    EXPECT_EQ(s.service, "checkout");
    EXPECT_EQ(s.scope, "mesh");
  }
  EXPECT_EQ(tracer.exported(), 3);
}

TEST(Tracer, EachRootStartsANewTrace) {
  FakeExporter exporter;
  Tracer tracer("api", exporter);
  ScopedSpan a = tracer.StartSpan("a");
  ScopedSpan b = tracer.StartSpan("b");
  EXPECT_NE(a.trace_id(), b.trace_id());
}

TEST(Tracer, StartSpanContinuesAnIncomingTraceparent) {
  FakeExporter exporter;
  Tracer tracer("api", exporter);
  ScopedSpan span = tracer.StartSpan("GET /", SpanKind::kServer, ParseTraceParent(kIncoming));
  EXPECT_EQ(span.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(span.span().parent_span_id, "00f067aa0ba902b7");
  EXPECT_NE(span.span_id(), "00f067aa0ba902b7");
}

TEST(Tracer, AnInvalidIncomingTraceparentStartsANewTrace) {
  FakeExporter exporter;
  Tracer tracer("api", exporter);
  ScopedSpan bad = tracer.StartSpan("GET /", SpanKind::kServer, ParseTraceParent("00-garbage"));
  EXPECT_TRUE(IsValidTraceId(bad.trace_id()));
  EXPECT_EQ(bad.span().parent_span_id, "");
  ScopedSpan forged = tracer.StartSpan("GET /", SpanKind::kServer, TraceParent{"XYZ", "0", true});
  EXPECT_TRUE(IsValidTraceId(forged.trace_id()));
  EXPECT_EQ(forged.span().parent_span_id, "");
}

TEST(Tracer, SpanEndsWhenItLeavesItsScopeWithTheClockDuration) {
  testing::FakeClock clock(1'000'000);
  FakeExporter exporter;
  Tracer tracer("api", exporter, Tracer::Options(), clock);
  {
    ScopedSpan span = tracer.StartSpan("work");
    clock.Advance(2'500);
  }
  ASSERT_TRUE(tracer.Flush().ok());
  const std::vector<Span> spans = exporter.Spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].start_ns, 1'000'000);
  EXPECT_EQ(spans[0].duration_ns, 2'500);
}

TEST(Tracer, EndIsIdempotentAndAMovedSpanEndsOnce) {
  testing::FakeClock clock(100);
  FakeExporter exporter;
  Tracer tracer("api", exporter, Tracer::Options(), clock);
  {
    ScopedSpan span = tracer.StartSpan("once");
    clock.Advance(10);
    span.End();
    clock.Advance(10);
    span.End();
    EXPECT_EQ(span.span().duration_ns, 10);  // span() still shows what was recorded
    ScopedSpan moved = tracer.StartSpan("moved");
    ScopedSpan target(std::move(moved));
  }
  ASSERT_TRUE(tracer.Flush().ok());
  const std::vector<Span> spans = exporter.Spans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].name, "once");
  EXPECT_EQ(spans[0].duration_ns, 10);
  EXPECT_EQ(spans[1].name, "moved");
}

TEST(Tracer, AttributesKeepTheirJsonTypes) {
  FakeExporter exporter;
  Tracer tracer("api", exporter);
  ScopedSpan span = tracer.StartSpan("typed");
  span.SetAttribute("s", std::string_view("text \"q\"\n"));
  span.SetAttribute("c", "literal");
  span.SetAttribute("n", int64_t{9223372036854775807});
  span.SetAttribute("neg", int64_t{-42});
  span.SetAttribute("whole", 2.0);
  span.SetAttribute("tenth", 0.1);
  span.SetAttribute("nan", std::nan(""));
  span.SetAttribute("yes", true);
  span.SetAttribute("no", false);
  span.SetAttribute("null", static_cast<const char*>(nullptr));
  span.End();
  EXPECT_EQ(span.span().attributes,
            R"({"s":"text \"q\"\n","c":"literal","n":9223372036854775807,"neg":-42,"whole":2.0,)"
            R"("tenth":0.1,"nan":null,"yes":true,"no":false,"null":null})");
  // Through the Span JSON the store and meshtrace show.
  std::string out;
  AppendJson(out, span.span());
  Result<Json::Value> json = ParseJson(out);
  ASSERT_TRUE(json.ok()) << out;
  const Json::Value& a = (*json)["attributes"];
  EXPECT_TRUE(a["s"].isString());
  EXPECT_EQ(a["s"].asString(), "text \"q\"\n");
  EXPECT_TRUE(a["n"].isInt64());
  EXPECT_EQ(a["n"].asInt64(), 9223372036854775807);
  EXPECT_EQ(a["whole"].type(), Json::realValue);
  EXPECT_DOUBLE_EQ(a["tenth"].asDouble(), 0.1);
  EXPECT_TRUE(a["yes"].isBool());
  EXPECT_TRUE(a["nan"].isNull());
  Result<Span> back = DecodeSpanJson(out);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->attributes, span.span().attributes);
}

TEST(Tracer, SettingAnAttributeAgainReplacesItsValue) {
  FakeExporter exporter;
  Tracer tracer("api", exporter);
  ScopedSpan span = tracer.StartSpan("op");
  span.SetAttribute("a", int64_t{1});
  span.SetAttribute("b", "x");
  span.SetAttribute("a", "now a string");
  span.SetAttribute("ab", true);  // a key that contains another is not mistaken for it
  span.End();
  EXPECT_EQ(span.span().attributes, R"({"b":"x","a":"now a string","ab":true})");
}

TEST(Tracer, InvalidUtf8InNamesAndAttributesBecomesReplacementCharacters) {
  FakeExporter exporter;
  Tracer tracer("api", exporter);
  ScopedSpan span = tracer.StartSpan("bad \xff name");
  span.SetAttribute("k\xfe", std::string_view("v\xc3"));
  span.SetAttribute("caf\xc3\xa9", std::string_view("\xf0\x9f\x9a\x80"));
  span.End();
  EXPECT_EQ(span.span().name, "bad \xef\xbf\xbd name");
  EXPECT_EQ(span.span().attributes,
            "{\"k\xef\xbf\xbd\":\"v\xef\xbf\xbd\",\"caf\xc3\xa9\":\"\xf0\x9f\x9a\x80\"}");
}

TEST(Tracer, EventsRecordTheirTimeAndName) {
  testing::FakeClock clock(1000);
  FakeExporter exporter;
  Tracer tracer("api", exporter, Tracer::Options(), clock);
  ScopedSpan span = tracer.StartSpan("op");
  clock.Advance(5);
  span.AddEvent("cache miss");
  clock.Advance(5);
  span.AddEvent("retry \"2\"");
  span.End();
  span.AddEvent("after the end");
  EXPECT_EQ(span.span().events, R"([{"time_ns":1005,"name":"cache miss","attributes":{}},)"
                                R"({"time_ns":1010,"name":"retry \"2\"","attributes":{}}])");
  ASSERT_TRUE(tracer.Flush().ok());
  EXPECT_EQ(exporter.Spans()[0].events, span.span().events);
}

TEST(Tracer, SpansWithoutAttributesOrEventsLeaveThemEmpty) {
  FakeExporter exporter;
  Tracer tracer("api", exporter);
  ScopedSpan span = tracer.StartSpan("bare");
  span.End();
  EXPECT_EQ(span.span().attributes, "");
  EXPECT_EQ(span.span().events, "");
  EXPECT_EQ(span.span().status, SpanStatus::kUnset);
}

TEST(Tracer, StatusAndMessageAreRecorded) {
  FakeExporter exporter;
  Tracer tracer("api", exporter);
  {
    ScopedSpan span = tracer.StartSpan("pay");
    span.SetStatus(SpanStatus::kError, "card declined");
  }
  {
    ScopedSpan span = tracer.StartSpan("ok");
    span.SetStatus(SpanStatus::kOk);
  }
  ASSERT_TRUE(tracer.Flush().ok());
  const std::vector<Span> spans = exporter.Spans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].status, SpanStatus::kError);
  EXPECT_EQ(spans[0].status_message, "card declined");
  EXPECT_EQ(spans[1].status, SpanStatus::kOk);
  EXPECT_EQ(spans[1].status_message, "");
}

TEST(Tracer, TraceparentRoundTripsThroughParseTraceParent) {
  FakeExporter exporter;
  Tracer tracer("api", exporter);
  ScopedSpan span = tracer.StartSpan("call", SpanKind::kClient);
  Result<TraceParent> parsed = ParseTraceParent(span.traceparent());
  ASSERT_TRUE(parsed.ok()) << span.traceparent();
  EXPECT_EQ(parsed->trace_id, span.trace_id());
  EXPECT_EQ(parsed->span_id, span.span_id());
  EXPECT_TRUE(parsed->sampled);
  // A downstream service continuing it becomes this span's child.
  ScopedSpan downstream = tracer.StartSpan("serve", SpanKind::kServer, parsed);
  EXPECT_EQ(downstream.trace_id(), span.trace_id());
  EXPECT_EQ(downstream.span().parent_span_id, span.span_id());
}

TEST(Tracer, ExportsABatchWhenTheQueueReachesTheBatchSize) {
  FakeExporter exporter;
  Tracer tracer("api", exporter, Tracer::Options{.batch_size = 3});
  for (int i = 0; i < 7; ++i) tracer.StartSpan("op " + std::to_string(i)).End();
  EXPECT_EQ(exporter.BatchSizes(), (std::vector<size_t>{3, 3}));
  EXPECT_EQ(tracer.exported(), 6);
  ASSERT_TRUE(tracer.Flush().ok());
  EXPECT_EQ(exporter.BatchSizes(), (std::vector<size_t>{3, 3, 1}));
  EXPECT_EQ(tracer.exported(), 7);
}

TEST(Tracer, FlushWithNothingQueuedDoesNotCallTheExporter) {
  FakeExporter exporter;
  Tracer tracer("api", exporter);
  EXPECT_TRUE(tracer.Flush().ok());
  EXPECT_TRUE(exporter.BatchSizes().empty());
}

TEST(Tracer, DestructionExportsWhatIsQueued) {
  FakeExporter exporter;
  {
    Tracer tracer("api", exporter);
    tracer.StartSpan("a").End();
    tracer.StartSpan("b").End();
    EXPECT_TRUE(exporter.BatchSizes().empty());
  }
  EXPECT_EQ(exporter.BatchSizes(), (std::vector<size_t>{2}));
}

TEST(Tracer, AFailingExporterCountsDroppedSpansAndDoesNotThrow) {
  FakeExporter exporter(FakeExporter::Mode::kFail);
  Tracer tracer("api", exporter, Tracer::Options{.batch_size = 2});
  EXPECT_NO_THROW({
    for (int i = 0; i < 5; ++i) tracer.StartSpan("op").End();
  });
  EXPECT_EQ(tracer.dropped(), 4);
  Status flushed = tracer.Flush();
  EXPECT_FALSE(flushed.ok());
  EXPECT_THAT(flushed.message(), HasSubstr("collector unreachable"));
  EXPECT_EQ(tracer.dropped(), 5);
  EXPECT_EQ(tracer.exported(), 0);
}

TEST(Tracer, AThrowingExporterCountsDroppedSpansAndDoesNotThrow) {
  FakeExporter exporter(FakeExporter::Mode::kThrow);
  auto tracer = std::make_unique<Tracer>("api", exporter, Tracer::Options{.batch_size = 1});
  EXPECT_NO_THROW({ ScopedSpan span = tracer->StartSpan("ends in a destructor"); });
  EXPECT_EQ(tracer->dropped(), 1);
  tracer->StartSpan("queued").End();
  EXPECT_NO_THROW(tracer.reset());
}

TEST(Tracer, SpansFromEightThreadsAreAllExported) {
  FakeExporter exporter;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 400;
  int64_t exported = 0;
  {
    Tracer tracer("api", exporter, Tracer::Options{.batch_size = 16});
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&tracer, t] {
        for (int i = 0; i < kPerThread / 2; ++i) {
          ScopedSpan parent = tracer.StartSpan("thread " + std::to_string(t));
          ScopedSpan child = tracer.StartChild(parent, "child");
          child.SetAttribute("i", int64_t{i});
        }
      });
    }
    for (std::thread& t : threads) t.join();
    ASSERT_TRUE(tracer.Flush().ok());
    exported = tracer.exported();
    EXPECT_EQ(tracer.dropped(), 0);
  }
  const std::vector<Span> spans = exporter.Spans();
  EXPECT_EQ(exported, kThreads * kPerThread);
  ASSERT_EQ(spans.size(), static_cast<size_t>(kThreads * kPerThread));
  std::set<std::string> ids;
  for (const Span& s : spans) ids.insert(s.span_id);
  EXPECT_EQ(ids.size(), spans.size());  // per-thread generators never collide here
  EXPECT_FALSE(exporter.overlapped());
}

TEST(StoreSpanExporter, WritesSpansThatSpanStoreReadsBack) {
  testing::TempDir dir;
  Result<std::unique_ptr<Store>> store = Store::Open({.path = dir.File("mesh.db")});
  ASSERT_TRUE(store.ok()) << store.status().message();
  StoreSpanExporter exporter(**store);
  std::string trace_id;
  {
    Tracer tracer("checkout", exporter);
    ScopedSpan root = tracer.StartSpan("POST /pay", SpanKind::kServer);
    root.SetAttribute("http.status_code", int64_t{402});
    root.SetStatus(SpanStatus::kError, "card declined");
    root.AddEvent("declined");
    tracer.StartChild(root, "charge", SpanKind::kClient).End();
    trace_id = root.trace_id();
  }
  SpanStore spans(**store);
  Result<std::vector<Span>> trace = spans.GetTrace(trace_id);
  ASSERT_TRUE(trace.ok()) << trace.status().message();
  ASSERT_EQ(trace->size(), 2u);
  const Span* root = FindByName(*trace, "POST /pay");
  const Span* child = FindByName(*trace, "charge");
  ASSERT_TRUE(root && child);
  EXPECT_EQ(child->parent_span_id, root->span_id);
  EXPECT_EQ(root->service, "checkout");
  EXPECT_EQ(root->attributes, R"({"http.status_code":402})");
  EXPECT_EQ(root->status, SpanStatus::kError);
  EXPECT_EQ(root->status_message, "card declined");
  EXPECT_THAT(root->events, HasSubstr(R"("name":"declined")"));
  EXPECT_EQ(root->scope, "mesh");
  // Exporting the same spans again (a retry) adds nothing.
  EXPECT_TRUE(exporter.Export(*trace).ok());
  EXPECT_EQ(spans.GetTrace(trace_id)->size(), 2u);
}

// A loopback HTTP server standing in for meshd: records the requests, answers as told.
class FakeMeshd {
 public:
  explicit FakeMeshd(HttpResponse answer) : answer_(std::move(answer)) {
    Result<std::unique_ptr<HttpServer>> server =
        HttpServer::Start({.listen = "127.0.0.1:0", .threads = 2}, [this](const HttpRequest& r) {
          std::lock_guard<std::mutex> lock(mu_);
          requests_.push_back(r);
          return answer_;
        });
    EXPECT_TRUE(server.ok()) << server.status().message();
    if (server.ok()) server_ = std::move(server).value();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  std::vector<HttpRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  HttpResponse answer_;
  mutable std::mutex mu_;
  std::vector<HttpRequest> requests_;
  std::unique_ptr<HttpServer> server_;
};

TEST(OtlpHttpSpanExporter, PostsOtlpJsonWithTheBearerTokenToARealServer) {
  FakeMeshd meshd(HttpResponse::Json(200, "{}"));
  OtlpHttpSpanExporter exporter(meshd.url() + "/", "s3cret");
  std::vector<Span> sent;
  {
    Tracer tracer("checkout", exporter);
    ScopedSpan root = tracer.StartSpan("GET /cart", SpanKind::kServer);
    root.SetAttribute("ratio", 0.25);
    root.AddEvent("hit");
    tracer.StartChild(root, "SELECT").End();
    root.End();
    sent = {root.span()};
    EXPECT_TRUE(tracer.Flush().ok());
    EXPECT_EQ(tracer.exported(), 2);
  }
  const std::vector<HttpRequest> requests = meshd.requests();
  ASSERT_EQ(requests.size(), 1u);
  const HttpRequest& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/v1/traces");
  EXPECT_EQ(r.Header("authorization"), "Bearer s3cret");
  EXPECT_THAT(r.Header("content-type"), HasSubstr("application/json"));
  Result<OtlpTraces> decoded = DecodeOtlpTraces(r.body);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->rejected, 0);
  ASSERT_EQ(decoded->spans.size(), 2u);
  const Span* root = FindByName(decoded->spans, "GET /cart");
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->trace_id, sent[0].trace_id);
  EXPECT_EQ(root->span_id, sent[0].span_id);
  EXPECT_EQ(root->start_ns, sent[0].start_ns);
  EXPECT_EQ(root->duration_ns, sent[0].duration_ns);
  EXPECT_EQ(root->attributes, sent[0].attributes);
  EXPECT_EQ(root->events, sent[0].events);
  EXPECT_EQ(root->service, "checkout");
  EXPECT_EQ(root->scope, "mesh");
  EXPECT_EQ(root->kind, SpanKind::kServer);
}

TEST(OtlpHttpSpanExporter, SendsNoAuthorizationWithoutAToken) {
  FakeMeshd meshd(HttpResponse::Json(200, "{}"));
  OtlpHttpSpanExporter exporter(meshd.url());
  Span s;
  s.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  s.span_id = "00f067aa0ba902b7";
  s.service = "api";
  ASSERT_TRUE(exporter.Export({s}).ok());
  ASSERT_EQ(meshd.requests().size(), 1u);
  EXPECT_EQ(meshd.requests()[0].Header("authorization"), "");
}

TEST(OtlpHttpSpanExporter, AFourHundredAnswerIsAnErrorWithMeshdsMessage) {
  FakeMeshd meshd(HttpResponse::Error(401, "missing or wrong bearer token"));
  OtlpHttpSpanExporter exporter(meshd.url(), "wrong");
  Tracer tracer("api", exporter);
  tracer.StartSpan("op").End();
  Status s = tracer.Flush();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("missing or wrong bearer token"));
  EXPECT_THAT(s.message(), HasSubstr("401"));
  EXPECT_EQ(tracer.dropped(), 1);

  FakeMeshd strict(HttpResponse::Error(400, "bad span"));
  OtlpHttpSpanExporter to_strict(strict.url());
  Span span;
  span.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  span.span_id = "00f067aa0ba902b7";
  Status bad = to_strict.Export({span});
  EXPECT_EQ(bad.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr("bad span"));
}

TEST(OtlpHttpSpanExporter, ARefusedConnectionIsAnErrorNotAThrow) {
  std::string url;
  {
    FakeMeshd gone(HttpResponse::Json(200, "{}"));
    url = gone.url();
  }
  OtlpHttpSpanExporter exporter(url);
  Tracer tracer("api", exporter);
  tracer.StartSpan("op").End();
  EXPECT_FALSE(tracer.Flush().ok());
  EXPECT_EQ(tracer.dropped(), 1);
}

// The unit of batching without a socket: an HttpClient that records what it is asked to send.
class RecordingClient : public HttpClient {
 public:
  explicit RecordingClient(std::vector<std::string>* bodies) : bodies_(bodies) {}
  Result<HttpClientResponse> Send(
      const std::string&, const std::string& url, const std::string& body,
      const std::vector<std::pair<std::string, std::string>>&) override {
    EXPECT_EQ(url, "http://meshd:9000/v1/traces");
    bodies_->push_back(body);
    return HttpClientResponse{200, "{}"};
  }

 private:
  std::vector<std::string>* bodies_;
};

TEST(OtlpHttpSpanExporter, SendsOneRequestPerBatch) {
  std::vector<std::string> bodies;
  OtlpHttpSpanExporter exporter("http://meshd:9000", "",
                                std::make_unique<RecordingClient>(&bodies));
  {
    Tracer tracer("api", exporter, Tracer::Options{.batch_size = 4});
    for (int i = 0; i < 10; ++i) tracer.StartSpan("op").End();
  }
  ASSERT_EQ(bodies.size(), 3u);
  size_t total = 0;
  for (const std::string& body : bodies) total += DecodeOtlpTraces(body)->spans.size();
  EXPECT_EQ(total, 10u);
  EXPECT_EQ(DecodeOtlpTraces(bodies.back())->spans.size(), 2u);
}

}  // namespace
}  // namespace mesh
