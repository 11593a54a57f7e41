#include "mesh/alerting/default_alert_rules.h"

#include <json/value.h>

#include <set>

#include "mesh/base/json_text.h"

namespace mesh {
namespace {

// Thresholds a service should not cross whatever it does: 5 % of requests failing, a p99 of
// half a second, no healthy instance left, any work refused for lack of room. Windows and
// `for` make one bad scrape not page; errors resolve below 3 % so that the alert does not flap.
// A store with no registry or no sidecar counters has nothing for the last two to watch: their
// no data is OK, not UNKNOWN.
constexpr std::string_view kDefaultRules = R"json({
  "rules": [
    {
      "name": "high_error_rate",
      "signal": "error_rate",
      "service": "*",
      "window": "1m",
      "op": ">",
      "threshold": 5,
      "for": "1m",
      "resolve_threshold": 3,
      "severity": "critical",
      "annotations": {
        "summary": "{{service}}: {{value}}% of requests fail (threshold {{threshold}}%)",
        "runbook": "meshlog tail --service {{service}} --level error; meshtrace list --service {{service}} --errors"
      }
    },
    {
      "name": "high_latency_p99",
      "signal": "latency_p99",
      "service": "*",
      "window": "5m",
      "op": ">",
      "threshold": 500,
      "for": "5m",
      "severity": "warning",
      "annotations": {
        "summary": "{{service}}: p99 latency {{value}} ms above {{threshold}} ms"
      }
    },
    {
      "name": "instance_down",
      "signal": "healthy_instances",
      "service": "*",
      "window": "1m",
      "op": "<",
      "threshold": 1,
      "for": "1m",
      "severity": "critical",
      "no_data": "ok",
      "annotations": {
        "summary": "{{service}}: no healthy instance registered ({{value}} heartbeating)",
        "runbook": "meshd's /v1/services/{{service}}/instances lists them with their last heartbeat"
      }
    },
    {
      "name": "saturation",
      "signal": "saturation",
      "service": "*",
      "window": "5m",
      "op": ">",
      "threshold": 0,
      "severity": "warning",
      "no_data": "ok",
      "annotations": {
        "summary": "{{service}}: {{value}}/s of connections, requests or telemetry refused or dropped for lack of room"
      }
    }
  ]
}
)json";

const Json::Value& RuleList(const Json::Value& doc) { return doc.isObject() ? doc["rules"] : doc; }

}  // namespace

std::string_view DefaultAlertRulesJson() { return kDefaultRules; }

Result<EffectiveRules> CombineWithDefaultRules(const std::optional<std::string>& file_text) {
  Json::Value file_doc(Json::arrayValue);
  if (file_text) {
    // ParseAlertRules first: its errors name the rule and field of the user's own file.
    if (Result<std::vector<AlertRule>> valid = ParseAlertRules(*file_text); !valid.ok()) return valid.status();
    Result<Json::Value> doc = ParseJson(*file_text);
    if (!doc.ok()) return doc.status();
    file_doc = std::move(doc).value();
  }
  const bool defaults = !file_doc.isObject() || file_doc.get("defaults", true).asBool();
  const Json::Value& own = RuleList(file_doc);
  std::set<std::string> overridden;
  for (const Json::Value& r : own) overridden.insert(r["name"].asString());

  std::string json = "[";
  std::vector<bool> built_in;
  auto append = [&](const Json::Value& rule, bool is_default) {
    if (json.size() > 1) json += ',';
    AppendJsonValue(json, rule);
    built_in.push_back(is_default);
  };
  std::set<std::string> placed;
  if (defaults) {
    Result<Json::Value> builtins = ParseJson(kDefaultRules);
    if (!builtins.ok()) return builtins.status();
    // A file's rule of a built-in's name takes the built-in's place, so their order stays.
    for (const Json::Value& r : RuleList(*builtins)) {
      const std::string name = r["name"].asString();
      placed.insert(name);
      if (!overridden.count(name)) {
        append(r, true);
        continue;
      }
      for (const Json::Value& mine : own) {
        if (mine["name"].asString() == name) append(mine, false);
      }
    }
  }
  for (const Json::Value& r : own) {
    if (!placed.count(r["name"].asString())) append(r, false);
  }
  json += "]";
  Result<std::vector<AlertRule>> rules = ParseAlertRules(json);
  if (!rules.ok()) return rules.status();
  return EffectiveRules{std::move(rules).value(), std::move(built_in), std::move(json)};
}

}  // namespace mesh
