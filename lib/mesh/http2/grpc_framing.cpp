#include "mesh/http2/grpc_framing.h"

#include <limits>

namespace mesh {

std::string EncodeGrpcMessage(std::string_view payload, bool compressed) {
  std::string out;
  out.reserve(5 + payload.size());
  const uint32_t n = static_cast<uint32_t>(payload.size());
  out.push_back(compressed ? '\1' : '\0');
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.append(payload);
  return out;
}

Result<GrpcMessage> DecodeUnaryGrpcMessage(std::string_view body) {
  if (body.size() < 5) return Status::InvalidArgument("gRPC message: shorter than its 5-byte prefix");
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(body[i]); };
  if (byte(0) > 1) return Status::InvalidArgument("gRPC message: compressed flag is neither 0 nor 1");
  const uint64_t length = (uint64_t{byte(1)} << 24) | (uint64_t{byte(2)} << 16) | (uint64_t{byte(3)} << 8) | byte(4);
  if (length != body.size() - 5) {
    return Status::InvalidArgument(length > body.size() - 5 ? "gRPC message: cut short"
                                                            : "gRPC message: bytes after the one message of a unary call");
  }
  return GrpcMessage{byte(0) == 1, std::string(body.substr(5))};
}

std::optional<int64_t> ParseGrpcTimeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  int64_t amount = 0;
  for (char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    amount = amount * 10 + (c - '0');  // at most 8 digits: no overflow
  }
  int64_t unit_ns = 0;
  switch (value.back()) {
    case 'H': unit_ns = 3'600'000'000'000; break;
    case 'M': unit_ns = 60'000'000'000; break;
    case 'S': unit_ns = 1'000'000'000; break;
    case 'm': unit_ns = 1'000'000; break;
    case 'u': unit_ns = 1'000; break;
    case 'n': unit_ns = 1; break;
    default: return std::nullopt;
  }
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  return amount > kMax / unit_ns ? kMax : amount * unit_ns;
}

std::string PercentEncodeGrpcMessage(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u <= 0x7E && c != '%') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  return out;
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string PercentDecodeGrpcMessage(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 && HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> GrpcStatusTrailers(GrpcStatus status, std::string_view message) {
  std::vector<std::pair<std::string, std::string>> out{{"grpc-status", std::to_string(static_cast<int>(status))}};
  if (!message.empty()) out.emplace_back("grpc-message", PercentEncodeGrpcMessage(message));
  return out;
}

}  // namespace mesh
