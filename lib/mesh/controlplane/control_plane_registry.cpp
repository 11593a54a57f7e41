// ControlPlane: the registry routes: register, heartbeat, deregister, the services and
// their instances, and Prometheus' http_sd targets.
#include "mesh/controlplane/control_plane.h"

#include <charconv>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"
#include "mesh/controlplane/control_plane_internal.h"
#include "mesh/controlplane/prometheus_targets.h"
#include "mesh/http/deferred_response.h"
#include "mesh/http/entity_tag.h"
#include "mesh/store/join_token_store.h"
#include "mesh/store/registry.h"
#include "mesh/telemetry/service_instance.h"

namespace mesh {

using namespace control_plane_internal;

void control_plane_internal::AppendInstanceJson(std::string& out, const Instance& i, bool healthy) {
  out += "{\"id\":";
  AppendJsonString(out, i.id);
  out += ",\"service\":";
  AppendJsonString(out, i.service);
  out += ",\"host\":";
  AppendJsonString(out, i.host);
  out += ",\"port\":" + std::to_string(i.port);
  out += ",\"healthy\":";
  out += healthy ? "true" : "false";
  out += ",\"registered\":\"" + FormatRfc3339(i.registered_ns) + "\"";
  out += ",\"last_heartbeat\":\"" + FormatRfc3339(i.heartbeat_ns) + "\"";
  out += ",\"ttl_seconds\":" + std::to_string(i.ttl_ns / kNsPerSecond);
  out += ",\"meta\":" + (i.meta.empty() ? std::string("{}") : i.meta);
  out += '}';
}

Result<std::vector<ServiceSummary>> ControlPlane::Summaries(Store& store) {
  Result<std::vector<Instance>> instances = Registry(store).Instances("");  // ordered by service
  if (!instances.ok()) return instances.status();
  const InstanceLiveness::Judged judged = liveness_.Judge(std::move(*instances));
  std::vector<ServiceSummary> out;
  for (size_t i = 0; i < judged.instances.size(); ++i) {
    if (out.empty() || out.back().name != judged.instances[i].service) out.push_back({judged.instances[i].service});
    ++out.back().instances;
    if (judged.Healthy(i)) ++out.back().healthy;
  }
  return out;
}

HttpResponse ControlPlane::Register(const HttpRequest& r, bool seed_payload) {
  Result<Json::Value> body = ParseJson(r.body);
  if (!body.ok()) return HttpResponse::Error(400, body.status().message());
  if (!body->isObject()) return HttpResponse::Error(400, "expected a JSON object");
  const char* name_key = seed_payload ? "service_name" : "service";
  Instance i;
  i.service = (*body)[name_key].isString() ? (*body)[name_key].asString() : "";
  i.host = (*body)["host"].isString() ? (*body)["host"].asString() : "";
  const Json::Value& port = (*body)["port"];
  if (!IsValidServiceName(i.service)) {
    return HttpResponse::Error(400, std::string(name_key) +
                                        " must be 1-128 letters, digits, '.', '-' or '_'");
  }
  if (i.host.empty() || i.host.size() > 255) return HttpResponse::Error(400, "host is required");
  if (!port.isInt64() || port.asInt64() < 1 || port.asInt64() > 65535) {
    return HttpResponse::Error(400, "port must be an integer in 1..65535");
  }
  i.port = port.asInt();
  if ((*body)["meta"].isObject()) AppendJsonValue(i.meta, (*body)["meta"]);
  i.ttl_ns = options_.default_ttl_ns;
  if (!(*body)["ttl_seconds"].isNull()) {
    const Json::Value& ttl = (*body)["ttl_seconds"];
    if (!ttl.isInt64() || ttl.asInt64() < 1 || ttl.asInt64() > 86400) {
      return HttpResponse::Error(400, "ttl_seconds must be an integer in 1..86400");
    }
    i.ttl_ns = ttl.asInt64() * kNsPerSecond;
  }
  // Only the service's own credential registers it (and so replaces its instances: the id
  // names the service, so an instance of another service is never reached from here).
  const AccessControl::Outcome access = access_->Check(r, RouteClass::kRegistry, i.service);
  if (!access.allowed()) return access.refusal;
  // The id is the address: a re-registering instance refreshes its entry.
  i.id = i.service + "@" + i.host + ":" + std::to_string(i.port);
  i.registered_ns = i.heartbeat_ns = clock_.NowNs();
  Status s = writer_->Submit([&](WriteContext& c) {
    if (Status up = Registry(c.store).Upsert(i); !up.ok()) return up;
    // When the token was last used, for `meshd token list`; a token revoked meanwhile is
    // refused from the next request on.
    if (access.credential.kind == Credential::Kind::kServiceToken) {
      JoinTokenStore(c.store).RecordUse(access.credential.token_id, i.registered_ns, false);
    }
    return Status::Ok();
  });
  if (!s.ok()) return StoreError(s);
  liveness_.Heard(i.id);
  versions_.Registered(i);
  std::string out = "{\"status\":\"registered\",\"id\":";
  AppendJsonString(out, i.id);
  out += ",\"ttl_seconds\":" + std::to_string(i.ttl_ns / kNsPerSecond) + "}";
  return HttpResponse::Json(200, std::move(out));
}

HttpResponse ControlPlane::ChangeInstance(const HttpRequest& r,
                                          const std::function<Status(Store&, const std::string&)>& change) {
  const std::string id = r.PathParam("id");
  const AccessControl::Outcome access = access_->Check(r, RouteClass::kRegistry, "");
  if (!access.allowed()) return access.refusal;
  // A service's credential acts on its own instances only: the owner is read in the same
  // transaction as the change, and nothing is written for another service's instance.
  const bool check_owner = access.credential.NamesService() && access_->settings().write_token;
  std::optional<std::string> other_owner;
  Status s = writer_->Submit([&](WriteContext& c) -> Status {
    if (check_owner) {
      Result<std::optional<std::string>> owner = Registry(c.store).ServiceOf(id);
      if (!owner.ok()) return owner.status();
      if (!*owner) return Status::NotFound("no instance " + id + " (register it again)");
      if (**owner != access.credential.service) {
        other_owner = **owner;
        return Status::Ok();
      }
    }
    return change(c.store, id);
  });
  if (other_owner) return access_->Recheck(access.credential, RouteClass::kRegistry, *other_owner).refusal;
  if (!s.ok()) return StoreError(s);
  return HttpResponse::Json(200, "");
}

HttpResponse ControlPlane::Heartbeat(const HttpRequest& r) {
  const std::string id = r.PathParam("id");
  const AccessControl::Outcome access = access_->Check(r, RouteClass::kRegistry, "");
  if (!access.allowed()) return access.refusal;
  // Who owns the instance is known in memory (RegistryVersions follows every registration,
  // removal and sweep): a heartbeat needs no store transaction, and holds no handler thread
  // waiting for a commit. A service's credential acts on its own instances only.
  const std::optional<std::string> owner = versions_.ServiceOf(id);
  if (!owner) return HttpResponse::Error(404, "no instance " + id + " (register it again)");
  if (access.credential.NamesService() && access_->settings().write_token && *owner != access.credential.service) {
    return access_->Recheck(access.credential, RouteClass::kRegistry, *owner).refusal;
  }
  liveness_.Heard(id);
  versions_.Heard(id);
  {
    std::lock_guard lock(heartbeats_mu_);
    pending_heartbeats_[id] = clock_.NowNs();
  }
  return HttpResponse::Json(200, "{\"status\":\"ok\"}");
}

void ControlPlane::FlushHeartbeats() {
  std::unordered_map<std::string, int64_t> batch;
  {
    std::lock_guard lock(heartbeats_mu_);
    batch.swap(pending_heartbeats_);
  }
  if (batch.empty()) return;
  const Status s = writer_->Submit([&batch](WriteContext& c) {
    for (const auto& [id, heartbeat_ns] : batch) {
      // Removed since (deregistered, swept): nothing to date.
      if (Status up = Registry(c.store).Heartbeat(id, heartbeat_ns); !up.ok() && up.code() != Status::Code::kNotFound) {
        return up;
      }
    }
    return Status::Ok();
  });
  if (s.ok()) return;
  // Not stored (a full disk): kept for the next flush, unless a newer heartbeat came meanwhile.
  std::lock_guard lock(heartbeats_mu_);
  for (const auto& [id, heartbeat_ns] : batch) pending_heartbeats_.try_emplace(id, heartbeat_ns);
}

HttpResponse ControlPlane::Deregister(const HttpRequest& r) {
  HttpResponse response =
      ChangeInstance(r, [](Store& store, const std::string& id) { return Registry(store).Remove(id); });
  if (response.status != 200) return response;
  liveness_.Forget(r.PathParam("id"));
  versions_.Removed(r.PathParam("id"));
  return HttpResponse::Json(200, "{\"status\":\"deregistered\"}");
}

HttpResponse ControlPlane::ListServices(const HttpRequest&, bool seed_format) {
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<std::vector<ServiceSummary>> services = Summaries(**lease);
  if (!services.ok()) return StoreError(services.status());
  std::string out = "{\"services\":[";
  for (size_t i = 0; i < services->size(); ++i) {
    const ServiceSummary& s = (*services)[i];
    if (i) out += ',';
    out += "{\"name\":";
    AppendJsonString(out, s.name);
    out += ",\"instances\":" + std::to_string(s.instances);
    if (!seed_format) {
      out += ",\"healthy\":" + std::to_string(s.healthy) + ",\"signals\":";
      AppendSignalsJson(out, **lease, s.name, 60 * kNsPerSecond);
    }
    out += '}';
  }
  out += "],\"total\":" + std::to_string(services->size()) + "}";
  return HttpResponse::Json(200, std::move(out));
}

namespace {

constexpr int64_t kMaxWaitSeconds = 60;
// On every answer to a request with wait=: this meshd holds such requests (for up to this many
// seconds), so that a client tells it from a meshd that ignores wait= and answers at once, and
// polls the latter instead.
constexpr char kMeshWait[] = "Mesh-Wait";
constexpr char kMaxWait[] = "60";
constexpr auto kWatchTick = std::chrono::milliseconds(100);
constexpr int kTicksPerHeartbeatFlush = 10;  // heartbeats reach the store within a second

// ?wait= of a discovery request: whole seconds, "30" or "30s", 1..60; 0 when absent.
Result<int64_t> WaitSeconds(const HttpRequest& r) {
  std::string_view v = r.Query("wait");
  if (v.empty()) return 0;
  if (v.back() == 's') v.remove_suffix(1);
  int64_t seconds = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
  if (ec != std::errc() || end != v.data() + v.size() || seconds < 1 || seconds > kMaxWaitSeconds) {
    return Status::InvalidArgument("parameter wait='" + r.Query("wait") + "' must be 1.." +
                                   std::to_string(kMaxWaitSeconds) + " seconds (e.g. wait=30s)");
  }
  return seconds;
}

}  // namespace

HttpResponse ControlPlane::GetService(const HttpRequest& r) {
  const std::string name = r.PathParam("name");
  Result<int64_t> wait = WaitSeconds(r);
  if (!wait.ok()) return HttpResponse::Error(400, wait.status().message());
  // The version is read before the store: an answer is never older than its tag (a change
  // meanwhile costs the client one more full answer, never a missed change).
  const int64_t version = versions_.Version(name);
  const std::string etag = versions_.ETagOf(version);
  if (!IfNoneMatchHits(r.Header("if-none-match"), etag, version != 0)) {
    HttpResponse answer = ServiceAnswer(name);
    if (*wait > 0) answer.headers.emplace_back(kMeshWait, kMaxWait);
    return answer;
  }
  HttpResponse unchanged = HttpResponse::Json(304, "");
  unchanged.headers.emplace_back("ETag", etag);
  if (*wait == 0) return unchanged;
  unchanged.headers.emplace_back(kMeshWait, kMaxWait);
  auto deferred = std::make_shared<DeferredResponse>();
  if (!watches_.Park(name, version, *wait * kNsPerSecond, deferred, unchanged)) {
    HttpResponse full = HttpResponse::Error(
        429, "too many discovery long-polls parked (meshd --max-watchers " + std::to_string(options_.max_watchers) +
                 "); poll again later");
    full.headers.emplace_back("Retry-After", "2");
    return full;
  }
  HttpResponse later;
  later.deferred = std::move(deferred);
  return later;
}

HttpResponse ControlPlane::ServiceAnswer(const std::string& name) {
  const int64_t version = versions_.Version(name);
  const std::string etag = versions_.ETagOf(version);
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<std::vector<Instance>> instances = Registry(**lease).Instances(name);
  if (!instances.ok()) return StoreError(instances.status());
  if (instances->empty()) {
    HttpResponse absent = HttpResponse::Error(404, "no service " + name);
    absent.headers.emplace_back("ETag", etag);
    return absent;
  }
  const InstanceLiveness::Judged judged = liveness_.Judge(*instances);
  std::string out = "{\"name\":";
  AppendJsonString(out, name);
  out += ",\"instances\":[";
  for (size_t i = 0; i < instances->size(); ++i) {
    if (i) out += ',';
    AppendInstanceJson(out, (*instances)[i], judged.Healthy(i));  // the stored times are shown
  }
  out += "],\"signals\":";
  AppendSignalsJson(out, **lease, name, 60 * kNsPerSecond);
  out += "}";
  HttpResponse response = HttpResponse::Json(200, std::move(out));
  response.headers.emplace_back("ETag", etag);
  return response;
}

void ControlPlane::RunTicks() {
  std::unique_lock lock(watch_mu_);
  for (int tick = 1; !watch_cv_.wait_for(lock, kWatchTick, [this] { return watches_stopped_; }); ++tick) {
    lock.unlock();
    if (tick % kTicksPerHeartbeatFlush == 0) FlushHeartbeats();
    watches_.Tick([this](const std::string& service) { return versions_.Version(service); },
                  [this](const std::string& service) {
                    HttpResponse answer = ServiceAnswer(service);
                    answer.headers.emplace_back(kMeshWait, kMaxWait);
                    return answer;
                  });
    lock.lock();
  }
}

void ControlPlane::StopWatches() {
  {
    std::lock_guard lock(watch_mu_);
    watches_stopped_ = true;
  }
  watch_cv_.notify_all();
  if (watch_thread_.joinable()) watch_thread_.join();
  watches_.Stop();
  FlushHeartbeats();
}

HttpResponse ControlPlane::PrometheusTargets(const HttpRequest& r) {
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<std::vector<Instance>> instances = Registry(**lease).Instances("");
  if (!instances.ok()) return StoreError(instances.status());
  const InstanceLiveness::Judged judged = liveness_.Judge(std::move(*instances));
  return HttpResponse::Json(
      200, FormatTargetGroups(BuildPrometheusTargets(judged.instances, judged.now_ns,
                                                   options_.advertise.empty() ? r.Header("host") : options_.advertise,
                                                   judged.up_since_ns)));
}

}  // namespace mesh
