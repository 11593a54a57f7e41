#include "mesh/http/gzip.h"
#include "mesh/http/http_message.h"

#include <gtest/gtest.h>
#include <zlib.h>

namespace mesh {
namespace http_gzip_test {

// Compresses with zlib itself: gzip framing when `gzip`, zlib framing otherwise.
std::string Compress(const std::string& plain, bool gzip) {
  z_stream zs{};
  deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, gzip ? 16 + MAX_WBITS : MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, plain.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  zs.avail_in = static_cast<uInt>(plain.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

TEST(Gzip, CompressesIntoAGzipStreamThatInflatesBack) {
  std::string plain;
  for (int i = 0; i < 5000; ++i) plain += "span " + std::to_string(i) + '\0';
  Result<std::string> gzipped = Gzip(plain);
  ASSERT_TRUE(gzipped.ok()) << gzipped.status().message();
  ASSERT_GE(gzipped->size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>((*gzipped)[0]), 0x1f);  // the gzip magic, not zlib's header
  EXPECT_EQ(static_cast<unsigned char>((*gzipped)[1]), 0x8b);
  EXPECT_LT(gzipped->size(), plain.size() / 2);
  Result<std::string> back = Inflate(*gzipped, plain.size());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, plain);
  Result<std::string> empty = Gzip("");
  ASSERT_TRUE(empty.ok());
  Result<std::string> nothing = Inflate(*empty, 10);
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ(*nothing, "");
}

TEST(Inflate, RoundTripsGzipAndZlibStreams) {
  std::string plain;
  for (int i = 0; i < 20000; ++i) plain += "{\"resourceSpans\":[" + std::to_string(i) + "]}";
  for (bool gzip : {true, false}) {
    Result<std::string> out = Inflate(Compress(plain, gzip), plain.size());
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(*out, plain);
  }
}

TEST(Inflate, RefusesOutputPastTheLimitWithoutInflatingIt) {
  const std::string bomb = Compress(std::string(10 << 20, 'a'), true);  // 10 MiB of 'a', ~10 KiB
  Result<std::string> out = Inflate(bomb, 1 << 20);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kUnsupported);
}

TEST(Inflate, RejectsTruncatedAndCorruptStreams) {
  const std::string good = Compress(std::string(100000, 'x') + "end", true);
  for (size_t cut : {size_t{0}, size_t{5}, good.size() / 2, good.size() - 1}) {
    Result<std::string> out = Inflate(good.substr(0, cut), 1 << 20);
    EXPECT_FALSE(out.ok()) << "cut at " << cut;
    if (!out.ok()) {
      EXPECT_EQ(out.status().code(), Status::Code::kInvalidArgument);
    }
  }
  std::string corrupt = good;
  corrupt[good.size() / 2] ^= 0x55;
  EXPECT_FALSE(Inflate(corrupt, 1 << 20).ok());
  EXPECT_FALSE(Inflate("not compressed at all", 1 << 20).ok());
}

TEST(Inflate, NeverHoldsMoreThanTheLimit) {
  const std::string bomb = Compress(std::string(50 << 20, '\0'), true);
  constexpr size_t kLimit = 3 << 20;
  Result<std::string> fits = Inflate(Compress(std::string(kLimit, 'z'), true), kLimit);
  ASSERT_TRUE(fits.ok());
  EXPECT_LE(fits->capacity(), kLimit);
  EXPECT_FALSE(Inflate(bomb, kLimit).ok());
}

TEST(InflateRequestBody, InflatesGzipAndDeflateAndRefusesTheRestWithItsStatus) {
  const std::string plain(4000, 'x');
  for (const char* encoding : {"gzip", "x-gzip", "deflate"}) {
    HttpRequest r;
    r.headers["content-encoding"] = encoding;
    r.body = Compress(plain, std::string(encoding) != "deflate");
    EXPECT_EQ(InflateRequestBody(r, {.max_bytes = 4000}), std::nullopt) << encoding;
    EXPECT_EQ(r.body, plain) << encoding;
    EXPECT_EQ(r.Header("content-encoding"), "") << encoding;
  }
  HttpRequest identity;
  identity.headers["content-encoding"] = "identity";
  identity.body = "as is";
  EXPECT_EQ(InflateRequestBody(identity, {.max_bytes = 10}), std::nullopt);
  EXPECT_EQ(identity.body, "as is");

  HttpRequest brotli;
  brotli.headers["content-encoding"] = "br";
  brotli.body = "x";
  EXPECT_EQ(InflateRequestBody(brotli, {})->status, 415);
  HttpRequest corrupt;
  corrupt.headers["content-encoding"] = "gzip";
  corrupt.body = "not gzip at all";
  EXPECT_EQ(InflateRequestBody(corrupt, {})->status, 400);
  HttpRequest bomb;
  bomb.headers["content-encoding"] = "gzip";
  bomb.body = Compress(std::string(100000, 'x'), true);
  EXPECT_EQ(InflateRequestBody(bomb, {.max_bytes = 99999})->status, 413);
}

TEST(InflateRequestBody, RatioAppliesOnlyPastItsFloor) {
  // 60 KiB of one byte compresses far past 100:1, yet stays under the 64 KiB floor.
  HttpRequest small;
  small.headers["content-encoding"] = "gzip";
  small.body = Compress(std::string(60 << 10, 'a'), true);
  ASSERT_LT(small.body.size() * 100, size_t{60 << 10});
  EXPECT_EQ(InflateRequestBody(small, {.max_bytes = 8 << 20, .max_ratio = 100}), std::nullopt);
  HttpRequest large;
  large.headers["content-encoding"] = "gzip";
  large.body = Compress(std::string(1 << 20, 'a'), true);
  const std::optional<HttpResponse> refused =
      InflateRequestBody(large, {.max_bytes = 8 << 20, .max_ratio = 100});
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 413);
  EXPECT_NE(refused->body.find("\"bound\":\"max_ratio\""), std::string::npos) << refused->body;
}

TEST(InflateRequestBody, HugeRatioTimesBodyDoesNotWrapAround) {
  HttpRequest r;
  r.headers["content-encoding"] = "gzip";
  r.body = Compress(std::string(200000, 'q'), true);
  const std::optional<HttpResponse> refused =
      InflateRequestBody(r, {.max_bytes = 100000, .max_ratio = SIZE_MAX / 2});
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 413);
  EXPECT_NE(refused->body.find("\"bound\":\"max_bytes\""), std::string::npos) << refused->body;
}

}  // namespace
}  // namespace mesh
