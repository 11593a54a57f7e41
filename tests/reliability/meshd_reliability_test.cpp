// Reliability of the real meshd under faults: a kill -9 in the middle of ingest (what was
// acknowledged survives, the store stays intact), a full disk (507, meshd lives on and recovers)
// and malformed input at scale (4xx or a closed connection, nothing stored). Each test prints one
// "RELIABILITY <test>: ..." summary line on stdout and records the same figures as properties;
// docs/reliability.md quotes them.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <json/json.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mesh/http/http_client.h"
#include "mesh/http_curl/curl_http_client.h"
#include "subprocess.h"

namespace mesh {
namespace {

using test_support::RunProcess;
using test_support::RunResult;
using namespace std::chrono_literals;
using Headers = std::vector<std::pair<std::string, std::string>>;

const Headers kJson = {{"Content-Type", "application/json"}};

// Telemetry from a minute ago: inside meshd's default 7-day retention, which would otherwise
// prune it while the test looks for it.
const std::string kStart = std::to_string(
    std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch() - 60s)
        .count());
const std::string kEnd = std::to_string(std::stoll(kStart) + 250'000'000);

Json::Value ParseBody(const std::string& body) {
  Json::Value v;
  Json::CharReaderBuilder builder;
  std::string errors;
  std::istringstream in(body);
  if (!Json::parseFromStream(builder, in, &v, &errors)) return Json::Value();
  return v;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Hex(uint64_t v, int digits) {
  std::string s(static_cast<size_t>(digits), '0');
  for (int i = digits - 1; i >= 0 && v; --i, v >>= 4) s[static_cast<size_t>(i)] = "0123456789abcdef"[v & 15];
  return s;
}

// A trace id that is never all zeros: 'a' then the two numbers.
std::string TraceId(uint64_t hi, uint64_t lo) { return "a" + Hex(hi, 15) + Hex(lo, 16); }

std::string OtlpSpans(const std::string& service, const std::string& trace_id,
                      const std::vector<std::string>& span_ids) {
  std::string spans;
  for (size_t i = 0; i < span_ids.size(); ++i) {
    if (i) spans += ',';
    spans += R"({"traceId":")" + trace_id + R"(","spanId":")" + span_ids[i] + R"(","name":"op )" +
             std::to_string(i) +
             R"(","kind":2,"startTimeUnixNano":")" + kStart + R"(","endTimeUnixNano":")" + kEnd + R"(",)"
             R"("attributes":[{"key":"http.status_code","value":{"intValue":"200"}}],"status":{"code":1}})";
  }
  return R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":")" +
         service + R"("}}]},"scopeSpans":[{"scope":{"name":"reliability"},"spans":[)" + spans + "]}]}]}";
}

std::string OtlpLogs(const std::string& service, const std::vector<std::string>& messages) {
  std::string records;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i) records += ',';
    records += R"({"timeUnixNano":")" + kStart + R"(","severityNumber":9,"body":{"stringValue":")" +
               messages[i] + "\"}}";
  }
  return R"({"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":")" +
         service + R"("}}]},"scopeLogs":[{"logRecords":[)" + records + "]}]}]}";
}

// `sql` through the sqlite3 CLI on the file; stdout without its last newline.
std::string Sql(const std::string& db, const std::string& sql) {
  RunResult r = RunProcess({"/usr/bin/sqlite3", db, sql});
  EXPECT_EQ(r.exit_code, 0) << sql << ": " << r.err;
  if (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r.out;
}

int64_t SqlCount(const std::string& db, const std::string& table) {
  const std::string out = Sql(db, "SELECT count(*) FROM " + table);
  return out.empty() ? -1 : std::stoll(out);
}

// One meshd with its stderr in a file of its own (a flood of error lines must never fill a pipe
// nobody reads), stopped by pid: SIGTERM in Stop(), SIGKILL in Kill() and in the destructor.
class Meshd {
 public:
  Meshd(const std::string& db, const std::string& log_path) : log_path_(log_path) {
    std::vector<std::string> argv = {MESHD_BIN, "--listen", "127.0.0.1:0", "--db", db};
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid_, MESHD_BIN, &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    if (pid_ <= 0) return;
    const std::regex listening("meshd listening\",\"url\":\"http://127\\.0\\.0\\.1:([0-9]+)\"");
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline && alive()) {
      const std::string text = ReadFile(log_path_);
      std::smatch m;
      if (std::regex_search(text, m, listening)) {
        url_ = "http://127.0.0.1:" + m[1].str();
        port_ = std::stoi(m[1].str());
        return;
      }
      std::this_thread::sleep_for(20ms);
    }
  }
  Meshd(const Meshd&) = delete;
  Meshd& operator=(const Meshd&) = delete;
  ~Meshd() { Kill(); }

  bool ready() const { return !url_.empty(); }
  const std::string& url() const { return url_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log() const { return ReadFile(log_path_); }
  bool alive() {
    if (reaped_ || pid_ <= 0) return false;
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) reaped_ = true;
    return !reaped_;
  }

  // SIGTERM, then the exit code (-1: killed by a signal, or still running after 20 s).
  int Stop() {
    if (pid_ <= 0 || reaped_) return -1;
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(20ms);
    }
    Kill();
    return -1;
  }

  // SIGKILL by pid: no flush, no checkpoint, no goodbye.
  void Kill() {
    if (pid_ <= 0 || reaped_) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    reaped_ = true;
  }

 private:
  std::string log_path_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int port_ = 0;
  std::string url_;
};

class MeshdReliability : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/meshd-rel-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Meshd> Start(const std::string& db) {
    auto m = std::make_unique<Meshd>(db, dir_ + "/meshd-" + std::to_string(++starts_) + ".log");
    EXPECT_TRUE(m->ready()) << "meshd did not start: " << m->log();
    return m;
  }

  HttpClientResponse Request(const Meshd& m, const std::string& method, const std::string& path,
                             const std::string& body = "", const Headers& headers = kJson) {
    Result<HttpClientResponse> r = http_.Send(method, m.url() + path, body, headers);
    EXPECT_TRUE(r.ok()) << method << " " << path << ": " << r.status().message();
    return r.ok() ? *r : HttpClientResponse{};
  }

  void Report(const std::string& test, const std::vector<std::pair<std::string, int64_t>>& figures) {
    std::string line = "RELIABILITY " + test + ":";
    for (const auto& [k, v] : figures) {
      line += " " + k + "=" + std::to_string(v);
      RecordProperty(k, std::to_string(v));
    }
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }

  std::string dir_;
  int starts_ = 0;
  CurlHttpClient http_{5000};
};

// --- 1. kill -9 mid-ingest ------------------------------------------------------------------

TEST_F(MeshdReliability, KillNineMidIngestLosesNoAcknowledgedSpan) {
  const std::string db = dir_ + "/mesh.db";
  constexpr int kClients = 4;
  constexpr int kSpansPerBatch = 50;
  constexpr int kMaxBatchesPerClient = 20000;
  std::unique_ptr<Meshd> meshd = Start(db);
  ASSERT_TRUE(meshd->ready());

  std::atomic<bool> stop{false};
  std::vector<std::vector<int>> acked(kClients);   // batch numbers that got a 2xx
  std::vector<int> sent(kClients, 0);
  std::vector<int> non2xx(kClients, 0);
  std::vector<std::thread> clients;
  const std::string url = meshd->url() + "/v1/traces";
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      CurlHttpClient client(5000);
      for (int b = 0; b < kMaxBatchesPerClient && !stop.load(); ++b) {
        std::vector<std::string> ids;
        for (int i = 0; i < kSpansPerBatch; ++i) {
          ids.push_back(Hex((uint64_t{1} << 60) | (uint64_t(c) << 40) | (uint64_t(b) << 16) | uint64_t(i), 16));
        }
        const std::string body = OtlpSpans("crash", TraceId(uint64_t(c), uint64_t(b)), ids);
        ++sent[c];
        Result<HttpClientResponse> r = client.Send("POST", url, body, kJson);
        if (!r.ok()) break;  // meshd is gone
        if (r->status / 100 == 2) {
          acked[c].push_back(b);
        } else {
          ++non2xx[c];
        }
      }
    });
  }
  // Let the clients run about two seconds, then pull the plug in the middle of their batches.
  const auto until = std::chrono::steady_clock::now() + 2s;
  while (std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(50ms);
  meshd->Kill();
  stop = true;
  for (auto& t : clients) t.join();

  int64_t total_sent = 0, total_acked = 0, total_non2xx = 0;
  for (int c = 0; c < kClients; ++c) {
    total_sent += sent[c];
    total_acked += static_cast<int64_t>(acked[c].size());
    total_non2xx += non2xx[c];
  }
  EXPECT_EQ(total_non2xx, 0) << "meshd refused batches before it was killed";
  ASSERT_GT(total_acked, 0) << "no batch was acknowledged in 2 s";

  // meshd recovers the store on restart (WAL replay) and serves what it acknowledged.
  meshd = Start(db);
  ASSERT_TRUE(meshd->ready());
  for (int c = 0; c < kClients; ++c) {
    if (acked[c].empty()) continue;
    // The newest acknowledged batch of each client is the one most at risk.
    const int b = acked[c].back();
    auto r = Request(*meshd, "GET", "/v1/traces/" + TraceId(uint64_t(c), uint64_t(b)));
    ASSERT_EQ(r.status, 200) << "client " << c << " batch " << b << ": " << r.body;
    EXPECT_EQ(ParseBody(r.body)["spans"].size(), static_cast<unsigned>(kSpansPerBatch));
  }
  // Ingest works again.
  const std::string after = TraceId(999, 1);
  auto r = Request(*meshd, "POST", "/v1/traces", OtlpSpans("crash", after, {"00000000000000aa", "00000000000000bb"}));
  EXPECT_EQ(r.status, 200) << r.body;
  r = Request(*meshd, "GET", "/v1/traces/" + after);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ParseBody(r.body)["spans"].size(), 2u) << r.body;
  EXPECT_EQ(meshd->Stop(), 0) << meshd->log();

  // Every acknowledged batch, span by span, from the file itself.
  std::map<std::string, int64_t> per_trace;
  std::istringstream rows(Sql(db, "SELECT trace_id, count(*) FROM spans WHERE service = 'crash' GROUP BY trace_id"));
  for (std::string line; std::getline(rows, line);) {
    const size_t bar = line.find('|');
    if (bar != std::string::npos) per_trace[line.substr(0, bar)] = std::stoll(line.substr(bar + 1));
  }
  int64_t found = 0, lost = 0, partial = 0;
  for (int c = 0; c < kClients; ++c) {
    for (int b : acked[c]) {
      const auto it = per_trace.find(TraceId(uint64_t(c), uint64_t(b)));
      if (it == per_trace.end()) {
        ++lost;
      } else if (it->second != kSpansPerBatch) {
        ++partial;
      } else {
        ++found;
      }
    }
  }
  // Batches in flight at the kill may have committed without their answer: all or nothing.
  int64_t unacked_committed = 0;
  for (const auto& [trace, n] : per_trace) {
    if (trace == after) continue;
    EXPECT_EQ(n, kSpansPerBatch) << "trace " << trace << " committed partly";
    ++unacked_committed;
  }
  unacked_committed -= found + partial;
  EXPECT_EQ(lost, 0) << "acknowledged batches missing after kill -9";
  EXPECT_EQ(partial, 0);
  EXPECT_EQ(found, total_acked);
  EXPECT_EQ(Sql(db, "PRAGMA integrity_check"), "ok");
  Report("KillNineMidIngestLosesNoAcknowledgedSpan",
         {{"batches_sent", total_sent},
          {"batches_acked", total_acked},
          {"batches_found", found},
          {"spans_acked", total_acked * kSpansPerBatch},
          {"unacked_batches_committed", unacked_committed},
          {"batches_lost", lost}});
}

// --- 2. full disk ---------------------------------------------------------------------------

class MeshdFullDisk : public MeshdReliability {
 protected:
  void SetUp() override {
    MeshdReliability::SetUp();
    mnt_ = dir_ + "/small";
    std::filesystem::create_directory(mnt_);
    RunResult r = RunProcess({"/bin/mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt_});
    mounted_ = r.exit_code == 0;
    ASSERT_TRUE(mounted_) << "cannot mount a 4 MB tmpfs on " << mnt_
                          << " (this test needs root and mount permission; it does not skip): "
                          << r.err;
  }
  void TearDown() override {
    if (mounted_ && umount2(mnt_.c_str(), 0) != 0) umount2(mnt_.c_str(), MNT_DETACH);
    MeshdReliability::TearDown();
  }

  std::string mnt_;
  bool mounted_ = false;
};

TEST_F(MeshdFullDisk, AnswersInsufficientStorageStaysUpAndRecovers) {
  const std::string db = mnt_ + "/mesh.db";
  std::unique_ptr<Meshd> meshd = Start(db);
  ASSERT_TRUE(meshd->ready());
  const std::string before = TraceId(7, 7);
  ASSERT_EQ(Request(*meshd, "POST", "/v1/traces", OtlpSpans("disk", before, {"0000000000000001"})).status, 200);

  // Fill the 4 MB with log batches (50 records of ~400 bytes) until meshd refuses one.
  const std::string filler(400, 'f');
  int64_t acked_records = 0, batches = 0;
  HttpClientResponse refused;
  for (int b = 0; b < 2000; ++b) {
    std::vector<std::string> messages;
    for (int i = 0; i < 50; ++i) messages.push_back(filler + " " + std::to_string(b) + "/" + std::to_string(i));
    auto r = Request(*meshd, "POST", "/v1/logs", OtlpLogs("disk", messages));
    ++batches;
    if (r.status == 200) {
      acked_records += 50;
      continue;
    }
    refused = r;
    break;
  }
  ASSERT_TRUE(refused.status == 507 || refused.status == 503)
      << "after " << batches << " batches: " << refused.status << " " << refused.body;
  EXPECT_EQ(refused.status, 507) << refused.body;
  EXPECT_TRUE(ParseBody(refused.body)["error"].isString()) << refused.body;
  EXPECT_NE(refused.body.find("full"), std::string::npos) << refused.body;
  // Spans are refused the same way while the disk is full.
  std::vector<std::string> many;
  for (int i = 0; i < 200; ++i) many.push_back(Hex(0x5000 + uint64_t(i), 16));
  auto r = Request(*meshd, "POST", "/v1/traces", OtlpSpans("disk", TraceId(7, 8), many));
  EXPECT_TRUE(r.status == 507 || r.status == 503) << r.status << " " << r.body;
  EXPECT_TRUE(ParseBody(r.body)["error"].isString()) << r.body;

  // meshd lives on: health, reads, and exactly the acknowledged records.
  EXPECT_TRUE(meshd->alive());
  EXPECT_EQ(Request(*meshd, "GET", "/healthz").status, 200);
  EXPECT_EQ(Request(*meshd, "GET", "/v1/traces/" + before).status, 200);
  EXPECT_EQ(Request(*meshd, "GET", "/v1/traces/" + TraceId(7, 8)).status, 404);
  Json::Value stats = ParseBody(Request(*meshd, "GET", "/v1/logs/stats?service=disk").body);
  ASSERT_EQ(stats["stats"].size(), 1u) << stats;
  EXPECT_EQ(stats["stats"][0]["count"].asInt64(), acked_records);

  // Space comes back: the next batch is taken.
  RunResult grow = RunProcess({"/bin/mount", "-o", "remount,size=64m", mnt_});
  ASSERT_EQ(grow.exit_code, 0) << grow.err;
  int status_after = 0;
  for (int attempt = 0; attempt < 20 && status_after != 200; ++attempt) {
    status_after = Request(*meshd, "POST", "/v1/logs", OtlpLogs("disk", {"space is back"})).status;
    if (status_after != 200) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(status_after, 200);
  EXPECT_EQ(Request(*meshd, "POST", "/v1/traces", OtlpSpans("disk", TraceId(7, 8), many)).status, 200);
  stats = ParseBody(Request(*meshd, "GET", "/v1/logs/stats?service=disk").body);
  ASSERT_EQ(stats["stats"].size(), 1u) << stats;
  EXPECT_EQ(stats["stats"][0]["count"].asInt64(), acked_records + 1);
  EXPECT_EQ(ParseBody(Request(*meshd, "GET", "/v1/traces/" + TraceId(7, 8)).body)["spans"].size(), 200u);
  EXPECT_EQ(meshd->Stop(), 0) << meshd->log();
  EXPECT_EQ(Sql(db, "PRAGMA integrity_check"), "ok");
  Report("AnswersInsufficientStorageStaysUpAndRecovers",
         {{"log_batches_acked_until_full", acked_records / 50},
          {"first_refusal_status", refused.status},
          {"status_after_remount", status_after}});
}

// --- 3. malformed input at scale ------------------------------------------------------------

// Sends `bytes` on a fresh connection, half-closes, and returns whatever came back (empty: the
// connection was closed without an answer).
std::string RawExchange(int port, const std::string& bytes) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) break;  // the server may close on us half way through: that is an answer too
      done += static_cast<size_t>(n);
    }
    shutdown(fd, SHUT_WR);
    char buf[4096];
    while (true) {
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      answer.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return answer;
}

// The status of a raw answer, 0 when there was none.
int RawStatus(const std::string& answer) {
  std::smatch m;
  if (std::regex_search(answer, m, std::regex("^HTTP/[0-9.]+ ([0-9]{3})"))) return std::stoi(m[1].str());
  return 0;
}

struct Bad {
  enum Kind { kRaw, kTraces, kLogs, kMetrics } kind;
  std::string what;
  std::string bytes;  // a whole request for kRaw, else a body
  int spans = 0;      // spans (or records) in a body that may be refused one by one
};

std::string RawRequest(const std::string& method_path, const std::string& body, const std::string& extra = "") {
  return method_path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + extra +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The corpus, the same on every run (seed 8).
std::vector<Bad> BadCorpus() {
  std::mt19937 rng(8);
  std::vector<Bad> corpus;
  const auto raw = [&](std::string what, std::string bytes) {
    corpus.push_back({Bad::kRaw, std::move(what), std::move(bytes)});
  };
  const std::string bad_logs = R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":)";
  // HTTP framing.
  raw("garbage request line", "GARBAGE\r\n\r\n");
  raw("no version", "GET /healthz\r\n\r\n");
  raw("unknown version", "GET /healthz HTTP/9.9\r\n\r\n");
  raw("binary request line", std::string("\x00\x01\x02\xff\xfe\r\n\r\n", 9));
  raw("header without colon", "GET /healthz HTTP/1.1\r\nBadHeaderNoColon\r\n\r\n");
  raw("oversized header", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(70000, 'a') + "\r\n\r\n");
  raw("ten thousand headers", [] {
    std::string s = "GET /healthz HTTP/1.1\r\n";
    for (int i = 0; i < 10000; ++i) s += "X-" + std::to_string(i) + ": y\r\n";
    return s + "\r\n";
  }());
  raw("oversized request line", "GET /" + std::string(100000, 'p') + " HTTP/1.1\r\n\r\n");
  raw("non-numeric Content-Length", "POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n" + bad_logs);
  raw("negative Content-Length", "POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n" + bad_logs);
  raw("huge Content-Length", "POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n{}");
  raw("conflicting Content-Lengths",
      "POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}" + std::string(38, ' '));
  raw("Content-Length longer than the body", RawRequest("POST /v1/logs", "{}").replace(
      RawRequest("POST /v1/logs", "{}").find("Content-Length: 2"), 17, "Content-Length: 90"));
  raw("truncated body", RawRequest("POST /v1/traces", OtlpSpans("bad", TraceId(66, 1), {"0000000000000001"})).substr(0, 150));
  raw("bad chunk size", "POST /v1/logs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n");
  raw("chunked and Content-Length",
      "POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}");
  raw("gzip that is not gzip", RawRequest("POST /v1/logs", "not gzip at all", "Content-Encoding: gzip\r\n"));
  // Random garbage, and a valid request head with random bytes overwritten (never the body,
  // which stays an invalid document so that a lucky mutation cannot make a storable request).
  for (int i = 0; i < 120; ++i) {
    std::string g(1 + rng() % 2000, '\0');
    for (char& ch : g) ch = static_cast<char>(rng() % 256);
    raw("random bytes #" + std::to_string(i), g + (i % 2 ? "\r\n\r\n" : ""));
  }
  const std::string head = "POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           "Content-Length: " + std::to_string(bad_logs.size()) + "\r\n\r\n";
  for (int i = 0; i < 120; ++i) {
    std::string m = head;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) m[rng() % (head.size() - 4)] = static_cast<char>(rng() % 256);
    raw("mutated head #" + std::to_string(i), m + bad_logs);
  }

  // OTLP traces: a valid body cut at every 7th byte, then wrong types, huge numbers, bad ids.
  const std::string spans = OtlpSpans("bad", TraceId(66, 2), {"0000000000000001", "0000000000000002", "0000000000000003"});
  for (size_t cut = 0; cut < spans.size(); cut += 7) {
    corpus.push_back({Bad::kTraces, "traces cut at " + std::to_string(cut), spans.substr(0, cut), 3});
  }
  const auto replace = [](std::string s, const std::string& from, const std::string& to) {
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
    return s;
  };
  const std::string t = TraceId(66, 2);
  const std::vector<std::pair<std::string, std::string>> span_edits = {
      {"\"resourceSpans\":[", "\"resourceSpans\":5,\"x\":["},
      {"\"scopeSpans\":[", "\"scopeSpans\":\"no\",\"x\":["},
      {"\"spans\":[", "\"spans\":{},\"x\":["},
      {"\"traceId\":\"" + t + "\"", "\"traceId\":12345"},
      {"\"traceId\":\"" + t + "\"", "\"traceId\":\"" + t.substr(1) + "\""},
      {"\"traceId\":\"" + t + "\"", "\"traceId\":\"" + t + "0\""},
      {"\"traceId\":\"" + t + "\"", "\"traceId\":\"zz" + t.substr(2) + "\""},
      {"\"traceId\":\"" + t + "\"", "\"traceId\":\"00000000000000000000000000000000\""},
      {"\"traceId\":\"" + t + "\"", "\"traceId\":null"},
      {"\"spanId\":\"000000000000000", "\"spanId\":\"g00000000000000"},
      {"\"spanId\":\"000000000000000", "\"spanId\":\"00000000000000000000"},
      {"\"spanId\":\"000000000000000", "\"spanId\":[\"0\"],\"y\":\"0"},
      {"\"startTimeUnixNano\":\"" + kStart + "\"", "\"startTimeUnixNano\":\"99999999999999999999999999\""},
      {"\"startTimeUnixNano\":\"" + kStart + "\"", "\"startTimeUnixNano\":\"-1\""},
      {"\"startTimeUnixNano\":\"" + kStart + "\"", "\"startTimeUnixNano\":\"1e400\""},
      {"\"startTimeUnixNano\":\"" + kStart + "\"", "\"startTimeUnixNano\":true"},
      {"\"endTimeUnixNano\":\"" + kEnd + "\"", "\"endTimeUnixNano\":\"184467440737095516160\""},
      {"\"endTimeUnixNano\":\"" + kEnd + "\"", "\"endTimeUnixNano\":{}"},
      {"\"kind\":2", "\"kind\":1e999"},
      {"\"kind\":2", "\"kind\":\"server\""},
      {"{\"code\":1}", "{\"code\":99999999999999999999}"},
      {"\"name\":\"op ", "\"name\":7,\"n\":\"op "},
      {"\"attributes\":[{\"key\":\"http", "\"attributes\":\"x\",\"a\":[{\"key\":\"http"},
      {"{\"intValue\":\"200\"}", "{\"intValue\":\"99999999999999999999999999999\"}"},
      {"{\"intValue\":\"200\"}", "{\"intValue\":[1,2]}"},
      {"{\"stringValue\":\"bad\"}", "{\"stringValue\":\"\\ud800\"}"},
      {"{\"stringValue\":\"bad\"}", "{\"stringValue\":\"bad\\x\"}"},
      {"\"service.name\"", "\"service.name\\u0000\""},
  };
  for (size_t i = 0; i < span_edits.size(); ++i) {
    const std::string edited = replace(spans, span_edits[i].first, span_edits[i].second);
    if (edited == spans) {
      ADD_FAILURE() << "span edit " << i << " does not apply to the body";
      continue;
    }
    corpus.push_back({Bad::kTraces, "traces edit " + std::to_string(i), edited, 3});
  }
  for (const std::string& body : {std::string(""), std::string("null"), std::string("[]"), std::string("\"x\""),
                                  std::string("{\"resourceSpans\":[") + std::string(5000, '['),
                                  std::string(1, '\xff') + spans, spans + "garbage", spans + spans}) {
    corpus.push_back({Bad::kTraces, "traces document " + body.substr(0, 20), body, 3});
  }

  // OTLP logs through POST /v1/logs.
  const std::string logs = OtlpLogs("bad", {"first line", "second line"});
  for (size_t cut = 0; cut < logs.size(); cut += 5) {
    corpus.push_back({Bad::kLogs, "logs cut at " + std::to_string(cut), logs.substr(0, cut), 2});
  }
  const std::vector<std::pair<std::string, std::string>> log_edits = {
      {"\"resourceLogs\":[", "\"resourceLogs\":{},\"x\":["},
      {"\"logRecords\":[", "\"logRecords\":7,\"x\":["},
      {"\"timeUnixNano\":\"" + kStart + "\"", "\"timeUnixNano\":\"abc\""},
      {"\"timeUnixNano\":\"" + kStart + "\"", "\"timeUnixNano\":\"999999999999999999999999999\""},
      {"\"severityNumber\":9", "\"severityNumber\":\"loud\""},
      {"\"severityNumber\":9", "\"severityNumber\":1e999"},
      {"{\"stringValue\":\"first line\"}", "{\"stringValue\":\"first\\q line\"}"},
      {"\"body\":{\"stringValue\":\"", "\"traceId\":\"nothex\",\"body\":{\"stringValue\":\""},
  };
  for (size_t i = 0; i < log_edits.size(); ++i) {
    const std::string edited = replace(logs, log_edits[i].first, log_edits[i].second);
    if (edited == logs) {
      ADD_FAILURE() << "log edit " << i << " does not apply to the body";
      continue;
    }
    corpus.push_back({Bad::kLogs, "logs edit " + std::to_string(i), edited, 2});
  }

  // Prometheus text pushes.
  const std::vector<std::string> pushes = {
      "metric{",
      "metric{a=\"unterminated} 1\n",
      "metric{a=\"x\",,} 1\n",
      "metric 1 2 3 4\n",
      "metric one\n",
      "metric 1 notatimestamp\n",
      "1badname 1\n",
      "# TYPE m bogus\nm 1\n",
      "# TYPE m counter\n# TYPE m gauge\nm 1\n",
      "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 1\nh_count 2\n",
      "metric{a=\"\\q\"} 1\n",
      "metric{=\"x\"} 1\n",
      "good 1\nbad{ 2\n",
  };
  for (const std::string& p : pushes) corpus.push_back({Bad::kMetrics, "push " + p.substr(0, 30), p});
  for (int i = 0; i < 40; ++i) {
    std::string g(1 + rng() % 300, '\0');
    for (char& ch : g) ch = static_cast<char>(rng() % 256);
    corpus.push_back({Bad::kMetrics, "push random #" + std::to_string(i), "\x01" + g + "\n"});
  }
  return corpus;
}

class MeshdBadInput : public MeshdReliability {
 protected:
  void RunCorpus(const std::vector<Bad>& corpus, const std::string& test);
};

TEST_F(MeshdBadInput, MalformedInputAtScaleGets4xxAndChangesNothing) {
  RunCorpus(BadCorpus(), "MalformedInputAtScaleGets4xxAndChangesNothing");
}

// Inputs meshd still stores or answers 200 (wrong JSON types coerced to defaults, a body shorter
// than its Content-Length, conflicting Content-Lengths). Run with --gtest_also_run_disabled_tests;
// enable once the decoders and the HTTP server refuse them.
void MeshdBadInput::RunCorpus(const std::vector<Bad>& corpus, const std::string& test) {
  const std::string db = dir_ + "/mesh.db";
  std::unique_ptr<Meshd> meshd = Start(db);
  ASSERT_TRUE(meshd->ready());
  // Data stored before the corpus.
  for (uint64_t b = 0; b < 3; ++b) {
    ASSERT_EQ(Request(*meshd, "POST", "/v1/traces",
                      OtlpSpans("good", TraceId(5, b), {"00000000000000a1", "00000000000000a2"})).status, 200);
  }
  ASSERT_EQ(Request(*meshd, "POST", "/v1/logs", OtlpLogs("good", {"one", "two", "three"})).status, 200);
  ASSERT_EQ(Request(*meshd, "POST", "/v1/metrics?service=good", "good_total 3\n", {}).status, 200);
  const std::vector<std::string> tables = {"spans", "logs", "metric_series", "metric_samples", "instances"};
  std::map<std::string, int64_t> before;
  for (const std::string& t : tables) before[t] = SqlCount(db, t);
  const std::string stats_before = Request(*meshd, "GET", "/v1/logs/stats").body;

  std::map<int, int64_t> by_status;  // 0: closed without an answer
  int64_t partial_success = 0, sent = 0;
  for (const Bad& bad : corpus) {
    int status = 0;
    std::string body;
    if (bad.kind == Bad::kRaw) {
      const std::string answer = RawExchange(meshd->port(), bad.bytes);
      status = RawStatus(answer);
      body = answer.substr(std::min(answer.size(), answer.find("\r\n\r\n") + 4));
      // 505 is the right answer to an HTTP version it does not speak.
      const bool ok = status == 0 || (status >= 400 && status < 500) || status == 505;
      EXPECT_TRUE(ok) << bad.what << ": " << answer.substr(0, 300);
    } else {
      const std::string path = bad.kind == Bad::kTraces ? "/v1/traces"
                               : bad.kind == Bad::kLogs ? "/v1/logs"
                                                        : "/v1/metrics?service=bad";
      Result<HttpClientResponse> r =
          http_.Send("POST", meshd->url() + path, bad.bytes, bad.kind == Bad::kMetrics ? Headers{} : kJson);
      ASSERT_TRUE(r.ok()) << bad.what << ": " << r.status().message();
      status = r->status;
      body = r->body;
      if (status == 200 && bad.kind != Bad::kMetrics) {
        // OTLP's partial success: a well-formed batch whose every span (record) was refused.
        const Json::Value v = ParseBody(body)["partialSuccess"];
        const char* field = bad.kind == Bad::kTraces ? "rejectedSpans" : "rejectedLogRecords";
        EXPECT_EQ(v[field].asInt(), bad.spans) << bad.what << ": accepted " << body << "\n" << bad.bytes;
        ++partial_success;
      } else {
        EXPECT_TRUE(status >= 400 && status < 500) << bad.what << ": " << status << " " << body << "\n"
                                                   << bad.bytes.substr(0, 400);
        EXPECT_TRUE(ParseBody(body)["error"].isString()) << bad.what << ": " << body;
      }
    }
    ++by_status[status];
    if (++sent % 50 == 0) {
      ASSERT_TRUE(meshd->alive()) << "meshd died after " << bad.what << "\n" << meshd->log();
      ASSERT_EQ(Request(*meshd, "GET", "/healthz").status, 200) << "after " << bad.what;
    }
  }
  ASSERT_TRUE(meshd->alive()) << meshd->log();
  EXPECT_EQ(Request(*meshd, "GET", "/healthz").status, 200);

  // Nothing stored, nothing lost.
  for (const std::string& t : tables) EXPECT_EQ(SqlCount(db, t), before[t]) << t;
  EXPECT_EQ(Sql(db, "SELECT count(*) FROM spans WHERE service <> 'good'"), "0");
  EXPECT_EQ(Sql(db, "SELECT count(*) FROM logs WHERE service <> 'good'"), "0");
  EXPECT_EQ(Request(*meshd, "GET", "/v1/logs/stats").body, stats_before);
  for (uint64_t b = 0; b < 3; ++b) {
    EXPECT_EQ(ParseBody(Request(*meshd, "GET", "/v1/traces/" + TraceId(5, b)).body)["spans"].size(), 2u);
  }
  // And it still takes good input.
  EXPECT_EQ(Request(*meshd, "POST", "/v1/logs", OtlpLogs("good", {"four"})).status, 200);
  EXPECT_EQ(meshd->Stop(), 0) << meshd->log();
  EXPECT_EQ(Sql(db, "PRAGMA integrity_check"), "ok");

  std::vector<std::pair<std::string, int64_t>> figures = {{"inputs", sent}, {"otlp_all_rejected_200", partial_success}};
  for (const auto& [status, n] : by_status) figures.emplace_back(status ? "status_" + std::to_string(status) : "closed", n);
  Report(test, figures);
}

}  // namespace
}  // namespace mesh
