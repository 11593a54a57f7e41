// OtlpCaptureReceiver: an OTLP/HTTP receiver for tests of meshd --export-otlp. It answers every
// POST 200 with an empty body (full success), keeps each request's path, headers and inflated
// body, and counts the spans it received by span id, decoding /v1/traces bodies with our own
// decoder (what the protoc test checks independently). Start it on port 0, or on a given port to
// bring a receiver back where meshd was told to send. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mesh/http/asio_http_server.h"
#include "mesh/http/gzip.h"
#include "mesh/otlp_proto/otlp_proto.h"

namespace mesh::test_support {

class OtlpCaptureReceiver {
 public:
  struct Request {
    std::string path;
    std::string content_type;
    std::string content_encoding;
    std::string authorization;
    std::string body;  // inflated
  };

  // Errors: as AsioHttpServer::Start (port in use).
  Status Start(int port = 0) {
    AsioHttpServer::Options options;
    options.listen = "127.0.0.1:" + std::to_string(port);
    options.max_body_bytes = 64 << 20;
    Result<std::unique_ptr<AsioHttpServer>> server =
        AsioHttpServer::Start(options, [this](const HttpRequest& r) { return Take(r); });
    if (!server.ok()) return server.status();
    server_ = std::move(server).value();
    return Status::Ok();
  }
  void Stop() {
    if (server_) server_->Stop();
    server_.reset();
  }
  ~OtlpCaptureReceiver() { Stop(); }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_ ? server_->port() : 0); }
  int port() const { return server_ ? server_->port() : 0; }

  std::vector<Request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Times each span id was received.
  std::map<std::string, int> span_counts() const {
    std::lock_guard lock(mu_);
    return span_counts_;
  }

 private:
  HttpResponse Take(const HttpRequest& r) {
    Request got{r.path, r.Header("content-type"), r.Header("content-encoding"), r.Header("authorization"), r.body};
    if (got.content_encoding == "gzip") {
      Result<std::string> plain = Inflate(r.body, 64 << 20);
      if (!plain.ok()) return HttpResponse::Error(400, plain.status().message());
      got.body = *plain;
    }
    std::lock_guard lock(mu_);
    if (r.path == "/v1/traces") {
      Result<OtlpTraces> traces = DecodeOtlpTracesProto(got.body);
      if (!traces.ok()) return HttpResponse::Error(400, traces.status().message());
      for (const Span& s : traces->spans) ++span_counts_[s.span_id];
    }
    requests_.push_back(std::move(got));
    HttpResponse answer = HttpResponse::Json(200, "");
    answer.content_type = std::string(kOtlpProtobufContentType);
    return answer;
  }

  std::unique_ptr<AsioHttpServer> server_;
  mutable std::mutex mu_;
  std::vector<Request> requests_;
  std::map<std::string, int> span_counts_;
};

}  // namespace mesh::test_support
