#include "mesh/proxy/registry_client.h"

#include "mesh/base/json_text.h"
#include "mesh/http/asio_http_client.h"
#include "mesh/http/http_message.h"

namespace mesh {

RegistryClient::RegistryClient(Options options, std::unique_ptr<HttpClient> client)
    : options_(std::move(options)),
      client_(client ? std::move(client) : std::make_unique<AsioHttpClient>(2000)),
      snapshot_(std::make_shared<const Snapshot>()) {
  while (!options_.meshd_url.empty() && options_.meshd_url.back() == '/') options_.meshd_url.pop_back();
  if (!options_.make_watch_client && !client) {
    options_.make_watch_client = [](long timeout_ms) { return std::make_unique<AsioHttpClient>(timeout_ms); };
  }
  long_poll_ = options_.watch_wait.count() > 0 && options_.make_watch_client != nullptr;
}

RegistryClient::~RegistryClient() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  StopWatchers();
}

size_t RegistryClient::long_polled() const {
  std::lock_guard lock(mu_);
  return long_polled_.size();
}

void RegistryClient::Start() { thread_ = std::thread([this] { Run(); }); }

std::string RegistryClient::instance_id() const {
  std::lock_guard lock(mu_);
  return id_;
}

Result<HttpClientResponse> RegistryClient::Send(const std::string& method, const std::string& path,
                                                const std::string& body, const std::string& if_none_match) {
  return Send(*client_, method, path, body, if_none_match);
}

Result<HttpClientResponse> RegistryClient::Send(HttpClient& client, const std::string& method, const std::string& path,
                                                const std::string& body, const std::string& if_none_match) {
  std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", "application/json"}};
  if (!if_none_match.empty()) headers.emplace_back("If-None-Match", if_none_match);
  if (!options_.token.empty()) headers.emplace_back("Authorization", "Bearer " + options_.token);
  Result<HttpClientResponse> r = client.Send(method, options_.meshd_url + path, body, headers);
  if (!r.ok() || r->status / 100 == 5) ++failures_;
  return r;
}

void RegistryClient::Register() {
  std::string body = "{\"service\":";
  AppendJsonString(body, options_.service);
  body += ",\"host\":";
  AppendJsonString(body, options_.host);
  body += ",\"port\":" + std::to_string(options_.port) +
          ",\"ttl_seconds\":" + std::to_string(options_.ttl_seconds) + ",\"meta\":" + options_.meta_json + "}";
  Result<HttpClientResponse> r = Send("POST", "/v1/register", body, "");
  if (!r.ok() || r->status != 200) return;
  Result<Json::Value> answer = ParseJson(r->body);
  if (!answer.ok() || !answer->isObject() || !(*answer)["id"].isString()) return;
  {
    std::lock_guard lock(mu_);
    id_ = (*answer)["id"].asString();
  }
  registered_ = true;
  dropped_ = false;
}

void RegistryClient::Heartbeat() {
  Result<HttpClientResponse> r = Send("POST", "/v1/instances/" + UrlEncode(instance_id()) + "/heartbeat", "", "");
  // meshd forgot us (removed after 3 missed TTLs, deleted, or a fresh store): Run registers
  // again on the one-second retry cadence rather than at once, so that a meshd that keeps
  // dropping the instance is not asked in a tight loop; /ready says so meanwhile.
  if (r.ok() && r->status == 404) {
    registered_ = false;
    dropped_ = true;
  }
}

bool RegistryClient::Apply(const std::string& service, const HttpClientResponse& answer) {
  std::vector<Endpoint> healthy;
  if (answer.status == 200) {
    Result<Json::Value> doc = ParseJson(answer.body);
    if (!doc.ok() || !doc->isObject() || !(*doc)["instances"].isArray()) return false;
    for (const Json::Value& i : (*doc)["instances"]) {
      if (!i.isObject() || !i["healthy"].isBool() || !i["healthy"].asBool()) continue;
      if (!i["host"].isString() || !i["port"].isInt()) continue;
      const bool mtls = i["meta"].isObject() && i["meta"]["mtls"].isBool() && i["meta"]["mtls"].asBool();
      healthy.push_back({i["host"].asString(), i["port"].asInt(), i["id"].isString() ? i["id"].asString() : "", mtls});
    }
  }
  // A 404: the service has no instance any more.
  std::lock_guard lock(snapshot_write_mu_);
  auto next = std::make_shared<Snapshot>(*snapshot_.load());
  (*next)[service] = std::move(healthy);
  snapshot_.store(std::move(next));
  return true;
}

void RegistryClient::Refresh(bool new_only) {
  std::set<std::string> watched;
  {
    std::lock_guard lock(mu_);
    for (const std::string& service : watched_) {
      if (!long_polled_.contains(service)) watched.insert(service);  // a watcher keeps it current
    }
  }
  for (const std::string& service : watched) {
    const bool have = snapshot_.load()->contains(service);
    if (new_only && have) continue;
    // The tag of the instances held: meshd answers 304, no body and no query, while they are
    // still current. Only sent with a snapshot entry to keep.
    const auto tag = etags_.find(service);
    Result<HttpClientResponse> r =
        Send("GET", "/v1/services/" + UrlEncode(service), "", have && tag != etags_.end() ? tag->second : "");
    if (!r.ok() || r->status / 100 == 5) continue;  // keep the last known instances
    if (r->status == 304) {
      ++unchanged_;
      continue;
    }
    if (!Apply(service, *r)) continue;
    const std::string etag = r->Header("ETag");
    if (etag.empty()) etags_.erase(service);
    else etags_[service] = etag;
  }
}

void RegistryClient::Watch(const std::string& service, HttpClient& client, std::string etag) {
  const std::string path = "/v1/services/" + UrlEncode(service);
  const std::string held_path = path + "?wait=" + std::to_string(options_.watch_wait.count());
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    Result<HttpClientResponse> r = Send(client, "GET", held_path, "", etag);
    bool pause = false, held = true;
    if (r.ok() && r->status == 429) {
      // meshd holds all the long-polls it may: a plain poll now, the next try a period later.
      pause = true;
      held = false;
      r = Send(client, "GET", path, "", etag);
    }
    const bool answered = r.ok() && r->status / 100 != 5;
    if (!answered) {
      pause = true;
    } else if (r->status == 304) {
      ++unchanged_;
    } else if ((r->status == 200 || r->status == 404) && Apply(service, *r)) {
      etag = r->Header("ETag");
    } else {
      pause = true;
    }
    // A meshd that ignores wait= answered at once: its poll suits it better.
    const bool polled_instead = answered && held && r->Header("Mesh-Wait").empty();
    lock.lock();
    if (polled_instead) {
      long_poll_ = false;
      break;
    }
    if (pause) wake_.wait_for(lock, options_.refresh_every, [this] { return stop_; });
  }
  long_polled_.erase(service);
}

void RegistryClient::StartWatchers() {
  std::lock_guard lock(mu_);
  if (!long_poll_ || stop_) return;
  const std::shared_ptr<const Snapshot> snapshot = snapshot_.load();
  for (const std::string& service : watched_) {
    if (watchers_.contains(service) || !snapshot->contains(service)) continue;  // first answered by Refresh
    const auto tag = etags_.find(service);
    Watcher& w = watchers_[service];
    w.client = options_.make_watch_client(static_cast<long>(options_.watch_wait.count()) * 1000 + 5000);
    long_polled_.insert(service);
    w.thread = std::thread([this, service, client = w.client.get(), etag = tag == etags_.end() ? "" : tag->second] {
      Watch(service, *client, etag);
    });
  }
}

void RegistryClient::StopWatchers() {
  std::map<std::string, Watcher> watchers;
  {
    std::lock_guard lock(mu_);
    watchers.swap(watchers_);
  }
  wake_.notify_all();
  // The default client's call is cut short; another (a test's) is waited out.
  for (auto& [service, w] : watchers) {
    if (auto* asio = dynamic_cast<AsioHttpClient*>(w.client.get())) asio->Cancel();
  }
  for (auto& [service, w] : watchers) w.thread.join();
}

void RegistryClient::RefreshNow() { Refresh(false); }

std::optional<std::vector<Endpoint>> RegistryClient::Instances(const std::string& service) {
  if (options_.meshd_url.empty()) return std::vector<Endpoint>{};  // nobody to ask
  const std::shared_ptr<const Snapshot> snapshot = snapshot_.load();
  if (const auto it = snapshot->find(service); it != snapshot->end()) return it->second;
  {
    std::lock_guard lock(mu_);
    if (!watched_.insert(service).second) return std::nullopt;  // already being fetched
  }
  wake_.notify_all();  // fetch it without waiting for the next period
  return std::nullopt;
}

void RegistryClient::Run() {
  const bool registering = !options_.service.empty();
  auto next_heartbeat = std::chrono::steady_clock::now();
  auto next_refresh = std::chrono::steady_clock::now();
  size_t known = 0;
  std::unique_lock lock(mu_);
  while (!stop_) {
    const auto now = std::chrono::steady_clock::now();
    // The count seen now, not after the work: a service first asked for meanwhile is fetched
    // on the next turn instead of waiting for the next period.
    const size_t watching = watched_.size();
    const bool new_service = watching != known;
    lock.unlock();
    if (registering && now >= next_heartbeat) {
      if (registered_) Heartbeat();
      else Register();
      // Until meshd has answered, try again every second.
      next_heartbeat = now + (registered_ ? options_.heartbeat_every : std::chrono::milliseconds(1000));
    }
    if (now >= next_refresh) {
      Refresh(false);
      next_refresh = now + options_.refresh_every;
    } else if (new_service) {
      Refresh(true);  // a first caller waits for these: not for the others' requests too
    }
    StartWatchers();
    lock.lock();
    known = watching;
    const auto wake_at = registering ? std::min(next_heartbeat, next_refresh) : next_refresh;
    wake_.wait_until(lock, wake_at, [&] { return stop_ || watched_.size() != known; });
  }
}

Status RegistryClient::Deregister() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  StopWatchers();
  if (!registered_) return Status::Ok();
  Result<HttpClientResponse> r = Send("DELETE", "/v1/instances/" + UrlEncode(instance_id()), "", "");
  if (!r.ok()) return r.status();
  if (r->status / 100 != 2) return Status::IOError("meshd answered " + std::to_string(r->status) + " to the deregistration");
  registered_ = false;
  return Status::Ok();
}

}  // namespace mesh
