// gen_logs: writes N realistic JSON log lines to standard output, for meshlog benchmarks.
//
//   gen_logs N [SEED]
//
// Each line is one flat JSON object as a service would print it:
//   {"timestamp":"2026-11-25T00:00:00.000731Z","level":"info","service":"checkout-api",
//    "message":"cache refresh completed upstream quickly retry id=4821733",
//    "trace_id":"...","span_id":"...","user_id":48213,"path":"/api/v1/orders/9127",
//    "status":200,"latency_ms":12.407}
// Timestamps increase (0-2 ms apart, microsecond precision); levels are mostly info; 50
// services are equally likely; the message is 6 words from a 64-word vocabulary plus an id,
// and about one line in a thousand carries the rare word "deadlock"; about a third of the
// lines carry a trace_id/span_id. The output depends only on N and SEED.
//
// No vocabulary word is a substring of another word, of a service, a path or a key, so
// `grep -c WORD` counts exactly the lines whose message holds WORD.
#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace {

// SplitMix64: tiny, fast, and good enough to make log lines look varied.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) (the modulo bias is irrelevant here).
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t state_;
};

constexpr std::array<std::string_view, 10> kDomains = {
    "checkout", "payments", "inventory", "catalog", "search",
    "accounts", "auth",     "shipping",  "billing", "notify"};
constexpr std::array<std::string_view, 5> kRoles = {"api", "worker", "gateway", "scheduler",
                                                    "cache"};

constexpr std::array<std::string_view, 64> kWords = {
    "request",  "handled",   "upstream",  "refresh",    "completed", "failed",    "retrying",
    "session",  "token",     "expired",   "renewed",    "queue",     "drained",   "batch",
    "flushed",  "record",    "stored",    "fetched",    "absent",    "quickly",   "slowly",
    "after",    "before",    "while",     "connection", "opened",    "closed",    "reset",
    "client",   "server",    "payload",   "accepted",   "rejected",  "malformed", "valid",
    "lookup",   "hit",       "miss",      "evicted",    "scheduled", "started",   "finished",
    "pool",     "exhausted", "backoff",   "applied",    "config",    "reloaded",  "snapshot",
    "written",  "replica",   "lagging",   "leader",     "elected",   "event",     "published",
    "consumed", "webhook",   "delivered", "throttled",  "quota",     "exceeded",  "index",
    "rebuilt"};
constexpr std::string_view kRareWord = "deadlock";

constexpr std::array<std::string_view, 10> kResources = {
    "orders", "carts",    "items",     "products", "accounts",
    "logins", "invoices", "shipments", "reviews",  "coupons"};

class Out {
 public:
  Out() : buf_(static_cast<char*>(std::malloc(kSize))) {
    if (buf_ == nullptr) {
      std::fputs("gen_logs: out of memory\n", stderr);
      std::exit(1);
    }
  }
  ~Out() {
    Flush();
    std::free(buf_);
  }
  Out(const Out&) = delete;
  Out& operator=(const Out&) = delete;

  void Put(std::string_view s) {
    std::memcpy(buf_ + len_, s.data(), s.size());
    len_ += s.size();
  }
  void Put(char c) { buf_[len_++] = c; }
  void PutInt(uint64_t v) { len_ = std::to_chars(buf_ + len_, buf_ + kSize, v).ptr - buf_; }
  // v with exactly `width` digits, zero-padded.
  void PutPadded(uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      buf_[len_ + i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    len_ += width;
  }
  void PutHex(Rng& rng, int digits) {
    static constexpr char kHex[] = "0123456789abcdef";
    uint64_t bits = rng.Next() | 1;  // never all zero
    for (int i = 0; i < digits; ++i) {
      if (i == 16) bits = rng.Next();
      buf_[len_++] = kHex[bits & 15];
      bits >>= 4;
    }
  }
  // Writes out once a line can no longer fit.
  void MaybeFlush() {
    if (len_ > kSize - 4096) Flush();
  }
  void Flush() {
    if (len_ > 0 && std::fwrite(buf_, 1, len_, stdout) != len_) {
      std::perror("gen_logs: cannot write standard output");
      std::exit(1);
    }
    len_ = 0;
  }

 private:
  static constexpr size_t kSize = 1 << 20;
  char* buf_;
  size_t len_ = 0;
};

// "YYYY-MM-DDTHH:MM:SS" for Unix seconds (Howard Hinnant's civil_from_days).
void FormatSeconds(int64_t unix_s, char out[19]) {
  const int64_t days = unix_s / 86400;
  const int64_t secs = unix_s % 86400;
  const int64_t z = days + 719468;
  const int64_t era = z / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const auto put = [&out](int pos, int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i, v /= 10) out[pos + i] = static_cast<char>('0' + v % 10);
  };
  put(0, y, 4);
  out[4] = '-';
  put(5, m, 2);
  out[7] = '-';
  put(8, d, 2);
  out[10] = 'T';
  put(11, secs / 3600, 2);
  out[13] = ':';
  put(14, secs / 60 % 60, 2);
  out[16] = ':';
  put(17, secs % 60, 2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fputs("usage: gen_logs N [SEED]  (writes N JSON log lines to standard output)\n", stderr);
    return 2;
  }
  char* end = nullptr;
  const unsigned long long n = std::strtoull(argv[1], &end, 10);
  if (*argv[1] == '\0' || *end != '\0') {
    std::fprintf(stderr, "gen_logs: invalid line count '%s' (expected a number)\n", argv[1]);
    return 2;
  }
  uint64_t seed = 1;
  if (argc == 3) {
    seed = std::strtoull(argv[2], &end, 10);
    if (*argv[2] == '\0' || *end != '\0') {
      std::fprintf(stderr, "gen_logs: invalid seed '%s' (expected a number)\n", argv[2]);
      return 2;
    }
  }

  Rng rng(seed);
  Out out;
  int64_t now_us = int64_t{1795564800} * 1'000'000;  // 2026-11-25T00:00:00Z
  int64_t formatted_s = -1;
  char seconds[19];
  for (unsigned long long i = 0; i < n; ++i) {
    now_us += static_cast<int64_t>(rng.Below(2000));
    if (now_us / 1'000'000 != formatted_s) {
      formatted_s = now_us / 1'000'000;
      FormatSeconds(formatted_s, seconds);
    }
    out.Put("{\"timestamp\":\"");
    out.Put(std::string_view(seconds, 19));
    out.Put('.');
    out.PutPadded(static_cast<uint64_t>(now_us % 1'000'000), 6);
    out.Put("Z\",\"level\":\"");
    const uint64_t l = rng.Below(1000);
    out.Put(l < 80 ? "debug" : l < 900 ? "info" : l < 960 ? "warn" : l < 999 ? "error" : "fatal");
    out.Put("\",\"service\":\"");
    out.Put(kDomains[rng.Below(kDomains.size())]);
    out.Put('-');
    out.Put(kRoles[rng.Below(kRoles.size())]);
    out.Put("\",\"message\":\"");
    for (int w = 0; w < 6; ++w) {
      out.Put(rng.Below(1000) == 0 ? kRareWord : kWords[rng.Below(kWords.size())]);
      out.Put(' ');
    }
    out.Put("id=");
    out.PutInt(1'000'000 + rng.Below(9'000'000));
    out.Put('"');
    if (rng.Below(3) == 0) {
      out.Put(",\"trace_id\":\"");
      out.PutHex(rng, 32);
      out.Put("\",\"span_id\":\"");
      out.PutHex(rng, 16);
      out.Put('"');
    }
    out.Put(",\"user_id\":");
    out.PutInt(rng.Below(100'000));
    out.Put(",\"path\":\"/api/v1/");
    out.Put(kResources[rng.Below(kResources.size())]);
    out.Put('/');
    out.PutInt(rng.Below(100'000));
    out.Put("\",\"status\":");
    const uint64_t st = rng.Below(100);
    out.PutInt(st < 90 ? 200 : st < 94 ? 201 : st < 97 ? 404 : st < 99 ? 500 : 503);
    out.Put(",\"latency_ms\":");
    // Mostly fast, with a long tail.
    const uint64_t latency_us = rng.Below(20'000) + (rng.Below(20) == 0 ? rng.Below(2'000'000) : 0);
    out.PutInt(latency_us / 1000);
    out.Put('.');
    out.PutPadded(latency_us % 1000, 3);
    out.Put("}\n");
    out.MaybeFlush();
  }
  return 0;
}
