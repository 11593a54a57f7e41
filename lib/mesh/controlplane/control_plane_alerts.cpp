// ControlPlane: the alert routes: a check round run by meshd, alert states, their history
// and silences, in alerting/alert_json.h's wire forms.
#include "mesh/controlplane/control_plane.h"

#include <charconv>
#include <string>

#include "mesh/alerting/alert_engine.h"
#include "mesh/alerting/alert_json.h"
#include "mesh/alerting/alert_notifier.h"
#include "mesh/alerting/alert_rule.h"
#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"
#include "mesh/controlplane/control_plane_internal.h"
#include "mesh/http_curl/curl_http_client.h"
#include "mesh/store/alert_store.h"
#include "mesh/store/store_signal_source.h"

namespace mesh {

using namespace control_plane_internal;

namespace {

// 403 {"error", "url", "flag"}: the URL is refused by meshd's configuration, not malformed.
HttpResponse RefuseAlertUrl(const char* key, const std::string& url, const std::string& why) {
  std::string body = "{\"error\":";
  AppendJsonString(body, std::string(key) + " URL refused: " + why +
                             "; meshd sends alerts only to URLs under a --alert-url-allow prefix");
  body += ",\"url\":";
  AppendJsonString(body, url);
  body += ",\"flag\":\"--alert-url-allow\"}";
  return HttpResponse::Json(403, std::move(body));
}

}  // namespace

// POST /v1/alerts/check {"rules": <rules document>, "at": "<Unix seconds>",
// "repeat_interval_ns": N, "external_url": "...", "alertmanager": "URL", "webhook": "URL"}:
// the round meshalert check runs on a file, run here on the store (notifications included, as
// meshd reaches the receivers), its states committed through the writer.
HttpResponse ControlPlane::CheckAlerts(const HttpRequest& r) {
  Result<AlertCheckRequest> request = ParseAlertCheckRequest(r.body, clock_.NowNs());
  if (!request.ok()) return HttpResponse::Error(400, request.status().message());
  Result<std::vector<AlertRule>> rules = ParseAlertRules(request->rules_json);
  if (!rules.ok()) return HttpResponse::Error(400, rules.status().message());
  const AlertCheckOptions options{request->at_ns, request->repeat_interval_ns, request->external_url};
  CurlHttpClient http(10000);
  std::vector<std::unique_ptr<AlertSink>> owned;
  for (const char* key : {"alertmanager", "webhook"}) {
    const std::string& url = std::string(key) == "alertmanager" ? request->alertmanager : request->webhook;
    if (url.empty()) continue;
    // A token holder must not make meshd a proxy to any address it can reach (SSRF): only
    // what the operator listed, sent to as checked.
    if (Result<HttpUrl> parsed = ParseHttpUrl(url); !parsed.ok()) {
      return HttpResponse::Error(
          400, std::string(key) + ": expected an http(s) URL (" + parsed.status().message() + ")");
    }
    Result<std::string> allowed = options_.alert_urls.Allow(url);
    if (!allowed.ok()) return RefuseAlertUrl(key, url, allowed.status().message());
    if (std::string(key) == "alertmanager")
      owned.push_back(std::make_unique<AlertmanagerSink>(http, *allowed));
    else
      owned.push_back(std::make_unique<WebhookSink>(http, *allowed, options.external_url));
  }
  std::vector<AlertSink*> sinks;
  for (auto& sink : owned) sinks.push_back(sink.get());

  Result<AlertCheckReport> report = [&]() -> Result<AlertCheckReport> {
    Result<ReadLease> lease = AcquireReader();
    if (!lease.ok()) return lease.status();
    StoreSignalSource source(**lease);
    AlertStore alerts(**lease);
    return AlertEngine(source, alerts, sinks).Check(*rules, options);
  }();
  if (!report.ok()) return StoreError(report.status());
  if (Status s = writer_->Submit([&](WriteContext& c) { return AlertStore(c.store).Save(report->alerts, report->events); });
      !s.ok()) {
    return StoreError(s);
  }
  return HttpResponse::Json(200, AlertCheckReportJson(*report));
}

HttpResponse ControlPlane::ListAlerts(const HttpRequest&) {
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<std::vector<StoredAlert>> alerts = AlertStore(**lease).Load({});
  if (!alerts.ok()) return StoreError(alerts.status());
  return HttpResponse::Json(200, StoredAlertsJson(*alerts));
}

HttpResponse ControlPlane::AlertHistory(const HttpRequest& r) {
  Result<std::pair<int64_t, int64_t>> window = WindowParams(r);
  if (!window.ok()) return HttpResponse::Error(400, window.status().message());
  Result<size_t> limit = LimitParam(r);
  if (!limit.ok()) return HttpResponse::Error(400, limit.status().message());
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<std::vector<AlertEvent>> events =
      AlertStore(**lease).History({window->first, window->second, r.Query("rule"), *limit});
  if (!events.ok()) return StoreError(events.status());
  return HttpResponse::Json(200, AlertEventsJson(*events));
}

HttpResponse ControlPlane::ListSilences(const HttpRequest& r) {
  int64_t at = clock_.NowNs();
  if (!r.Query("at").empty()) {
    Result<int64_t> t = ParseTimeSpec(r.Query("at"), at);
    if (!t.ok()) return HttpResponse::Error(400, "parameter at: " + t.status().message());
    at = *t;
  }
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<std::vector<Silence>> silences = AlertStore(**lease).Silences(at, r.Query("all") == "true");
  if (!silences.ok()) return StoreError(silences.status());
  return HttpResponse::Json(200, SilencesJson(*silences));
}

HttpResponse ControlPlane::AddSilence(const HttpRequest& r) {
  Result<std::vector<Silence>> parsed = ParseSilences("[" + r.body + "]");
  if (!parsed.ok() || parsed->size() != 1) {
    return HttpResponse::Error(400, "expected one silence: {\"rule\",\"service\",\"starts_at\",\"ends_at\",\"comment\"}" +
                                        (parsed.ok() ? std::string() : " (" + parsed.status().message() + ")"));
  }
  Silence silence = parsed->front();
  if (silence.rule.empty() || silence.service.empty() || silence.comment.empty()) {
    return HttpResponse::Error(400, "rule, service and comment are required");
  }
  if (silence.starts_ns == 0) silence.starts_ns = clock_.NowNs();
  if (silence.ends_ns <= silence.starts_ns) return HttpResponse::Error(400, "ends_at must be after starts_at");
  if (silence.created_by.empty()) silence.created_by = "unknown";
  Status s = writer_->Submit([&](WriteContext& c) -> Status {
    Result<int64_t> id = AlertStore(c.store).AddSilence(silence);
    if (id.ok()) silence.id = *id;
    return id.status();
  });
  if (!s.ok()) return StoreError(s);
  return HttpResponse::Json(201, SilenceJson(silence));
}

HttpResponse ControlPlane::ExpireSilence(const HttpRequest& r) {
  const std::string& text = r.PathParam("id");
  int64_t id = 0;
  const auto res = std::from_chars(text.data(), text.data() + text.size(), id);
  if (res.ec != std::errc() || res.ptr != text.data() + text.size() || id <= 0) {
    return HttpResponse::Error(400, "silence id must be a positive integer");
  }
  const int64_t now = clock_.NowNs();
  Status s = writer_->Submit([&](WriteContext& c) { return AlertStore(c.store).ExpireSilence(id, now); });
  if (s.code() == Status::Code::kNotFound) return HttpResponse::Error(404, s.message());
  if (s.code() == Status::Code::kInvalidArgument) return HttpResponse::Error(400, s.message());
  if (!s.ok()) return StoreError(s);
  return HttpResponse::Json(200, "{\"expired\":" + std::to_string(id) + "}");
}

}  // namespace mesh
