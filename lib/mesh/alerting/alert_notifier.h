// Alert notifications: what an alert says when it starts firing or resolves (AlertNotice), the
// wire formats (Alertmanager v2 `POST /api/v2/alerts`, a webhook body shaped like
// Alertmanager's own webhook, version "4"), and the sinks that deliver them: Alertmanager, a
// webhook URL, or a command that reads the alert as JSON on stdin.
//
// A sink's Deliver either delivers every notice or returns an error; the engine then keeps
// the notices owed and retries on its next run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mesh/alerting/alert_records.h"
#include "mesh/base/status.h"
#include "mesh/http/http_client.h"

namespace mesh {

struct AlertNotice {
  std::string rule;
  std::string service;
  bool firing = true;  // false: resolved
  // alertname, service, severity and the rule's labels, sorted by name.
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::pair<std::string, std::string>> annotations;  // templates filled in
  int64_t starts_at_ns = 0;
  int64_t ends_at_ns = 0;  // set when resolved
  std::optional<double> value;
  std::string generator_url;  // "" when unknown

  // A stable id of the label set (FNV-1a 64, hex), like Alertmanager's fingerprint.
  std::string Fingerprint() const;
};

// The Alertmanager v2 API body: a JSON array of {labels, annotations, startsAt, endsAt?,
// generatorURL?}.
std::string AlertmanagerPayload(const std::vector<AlertNotice>& notices);
// {"version":"4","status":..,"receiver":"meshalert","alerts":[..],"groupLabels":{},
//  "commonLabels":..,"commonAnnotations":..,"externalURL":..,"groupKey":..}: what receivers
// written for Alertmanager's webhooks already read. status is "firing" when any alert fires.
std::string WebhookPayload(const std::vector<AlertNotice>& notices, const std::string& external_url);
// One alert as a JSON object (the webhook's alert shape plus rule, service and value).
std::string AlertNoticeJson(const AlertNotice& notice);

class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual AlertSinkBit bit() const = 0;
  virtual std::string name() const = 0;  // for history and errors: "alertmanager", ...
  virtual Status Deliver(const std::vector<AlertNotice>& notices) = 0;
};

// POSTs to <base>/api/v2/alerts; any 2xx is delivered.
class AlertmanagerSink : public AlertSink {
 public:
  AlertmanagerSink(HttpClient& client, std::string base_url);
  AlertSinkBit bit() const override { return kSinkAlertmanager; }
  std::string name() const override { return "alertmanager"; }
  Status Deliver(const std::vector<AlertNotice>& notices) override;

 private:
  HttpClient& client_;
  std::string url_;
};

// POSTs WebhookPayload to the URL; any 2xx is delivered.
class WebhookSink : public AlertSink {
 public:
  WebhookSink(HttpClient& client, std::string url, std::string external_url);
  AlertSinkBit bit() const override { return kSinkWebhook; }
  std::string name() const override { return "webhook"; }
  Status Deliver(const std::vector<AlertNotice>& notices) override;

 private:
  HttpClient& client_;
  std::string url_;
  std::string external_url_;
};

// Runs `/bin/sh -c command` once per notice with AlertNoticeJson on stdin and MESH_ALERT_NAME,
// MESH_ALERT_SERVICE, MESH_ALERT_STATUS, MESH_ALERT_SEVERITY in the environment. Exit status 0
// is delivered; a command still running after the timeout is killed and counts as failed.
class ExecSink : public AlertSink {
 public:
  explicit ExecSink(std::string command, int64_t timeout_ns = 30'000'000'000);
  AlertSinkBit bit() const override { return kSinkExec; }
  std::string name() const override { return "exec"; }
  Status Deliver(const std::vector<AlertNotice>& notices) override;

 private:
  Status RunOnce(const AlertNotice& notice);
  std::string command_;
  int64_t timeout_ns_;
};

}  // namespace mesh
