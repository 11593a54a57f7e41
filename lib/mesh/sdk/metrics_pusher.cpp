#include "mesh/sdk/metrics_pusher.h"

#include "mesh/http/http_message.h"
#include "mesh/http_curl/curl_http_client.h"
#include "mesh/telemetry/prometheus_text.h"

namespace mesh {

MetricsPusher::MetricsPusher(const MetricsRegistry& registry, Options options, std::unique_ptr<HttpClient> client)
    : registry_(registry), options_(std::move(options)), client_(std::move(client)) {
  if (!client_) client_ = std::make_unique<CurlHttpClient>(5000);
  while (!options_.meshd.empty() && options_.meshd.back() == '/') options_.meshd.pop_back();
}

MetricsPusher::~MetricsPusher() { Stop(); }

Status MetricsPusher::Start() {
  if (options_.meshd.rfind("http://", 0) != 0 && options_.meshd.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("invalid meshd URL '" + options_.meshd + "' (expected http://host:port)");
  }
  if (options_.service.empty()) return Status::InvalidArgument("metrics push needs a service name");
  if (options_.interval < std::chrono::milliseconds(100)) {
    return Status::InvalidArgument("metrics push interval must be at least 100ms");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return Status::Ok();
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void MetricsPusher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void MetricsPusher::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    const bool stopping = wake_.wait_for(lock, options_.interval, [&] { return stopping_; });
    lock.unlock();
    PushOnce();  // the final push happens here too, after a stop
    lock.lock();
    if (stopping) return;
  }
}

Status MetricsPusher::PushOnce() {
  std::string url = options_.meshd + "/v1/metrics?service=" + UrlEncode(options_.service);
  if (!options_.instance.empty()) url += "&instance=" + UrlEncode(options_.instance);
  std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", std::string(kPrometheusContentType)}};
  if (!options_.token.empty()) headers.emplace_back("Authorization", "Bearer " + options_.token);
  const std::string body = FormatPrometheusText(registry_.Collect());
  Result<HttpClientResponse> r = [&] {
    std::lock_guard<std::mutex> lock(client_mu_);
    return client_->Send("POST", url, body, headers);
  }();
  Status s = r.ok() ? Status::Ok() : r.status();
  if (r.ok() && (r->status < 200 || r->status > 299)) {
    s = Status::IOError(url + " answered " + std::to_string(r->status) + ": " + r->body.substr(0, 200));
  }
  (s.ok() ? pushed_ : failed_).fetch_add(1);
  return s;
}

}  // namespace mesh
