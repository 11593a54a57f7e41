#include "mesh/cli/meshalert_commands.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "mesh/alerting/alert_engine.h"
#include "mesh/alerting/alert_json.h"
#include "mesh/alerting/alert_rule.h"
#include "mesh/alerting/default_alert_rules.h"
#include "mesh/alerting/signal_source.h"
#include "mesh/base/json_text.h"
#include "mesh/base/process_signals.h"
#include "mesh/base/text_table.h"
#include "mesh/base/time_format.h"
#include "mesh/http/http_client.h"
#include "mesh/http/http_message.h"
#include "mesh/http_curl/curl_http_client.h"
#include "mesh/sdk/remote_log.h"
#include "mesh/store/alert_store.h"
#include "mesh/store/store_signal_source.h"

namespace mesh {
namespace {

constexpr const char* kTool = "meshalert";

// Where notifications go, as the check was asked for them.
struct NotifyTargets {
  std::string alertmanager;
  std::string webhook;
  std::string exec;
};

// Alerting's data: the local store, or a meshd's /v1/alerts API.
class AlertBackend {
 public:
  virtual ~AlertBackend() = default;
  virtual Result<AlertCheckReport> Check(const std::string& rules_text, const std::vector<AlertRule>& rules,
                                         const AlertCheckOptions& options, const NotifyTargets& targets) = 0;
  virtual Result<std::vector<StoredAlert>> List(const std::vector<std::string>& rules) = 0;
  virtual Result<std::vector<AlertEvent>> History(const AlertHistoryFilter& filter) = 0;
  virtual Result<int64_t> AddSilence(const Silence& silence) = 0;
  virtual Result<std::vector<Silence>> Silences(int64_t at_ns, bool include_expired) = 0;
  virtual Status ExpireSilence(int64_t id, int64_t at_ns) = 0;
};

class LocalAlerts : public AlertBackend {
 public:
  explicit LocalAlerts(std::unique_ptr<Store> store) : store_(std::move(store)), alerts_(*store_) {}

  Result<AlertCheckReport> Check(const std::string&, const std::vector<AlertRule>& rules,
                                 const AlertCheckOptions& options, const NotifyTargets& targets) override {
    CurlHttpClient http(10000);
    std::vector<std::unique_ptr<AlertSink>> owned;
    if (!targets.alertmanager.empty()) owned.push_back(std::make_unique<AlertmanagerSink>(http, targets.alertmanager));
    if (!targets.webhook.empty()) owned.push_back(std::make_unique<WebhookSink>(http, targets.webhook, options.external_url));
    if (!targets.exec.empty()) owned.push_back(std::make_unique<ExecSink>(targets.exec));
    std::vector<AlertSink*> sinks;
    for (auto& s : owned) sinks.push_back(s.get());
    StoreSignalSource source(*store_);
    AlertEngine engine(source, alerts_, sinks);
    Result<AlertCheckReport> report = engine.Check(rules, options);
    if (!report.ok()) return report;
    if (Status s = alerts_.Save(report->alerts, report->events); !s.ok()) {
      return s.WithContext("saving alert states");
    }
    return report;
  }
  Result<std::vector<StoredAlert>> List(const std::vector<std::string>& rules) override { return alerts_.Load(rules); }
  Result<std::vector<AlertEvent>> History(const AlertHistoryFilter& filter) override { return alerts_.History(filter); }
  Result<int64_t> AddSilence(const Silence& silence) override { return alerts_.AddSilence(silence); }
  Result<std::vector<Silence>> Silences(int64_t at_ns, bool include_expired) override {
    return alerts_.Silences(at_ns, include_expired);
  }
  Status ExpireSilence(int64_t id, int64_t at_ns) override { return alerts_.ExpireSilence(id, at_ns); }

 private:
  std::unique_ptr<Store> store_;
  // No transaction is held here, so each write commits on its own.
  CommittingAlertStore alerts_;
};

class RemoteAlerts : public AlertBackend {
 public:
  RemoteAlerts(std::string server, std::string token) : base_(std::move(server)), token_(std::move(token)) {
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
  }

  Result<AlertCheckReport> Check(const std::string& rules_text, const std::vector<AlertRule>&,
                                 const AlertCheckOptions& options, const NotifyTargets& targets) override {
    if (!targets.exec.empty()) {
      return Status::InvalidArgument("--exec runs a command on this machine, so it needs the local store, not --server");
    }
    const AlertCheckRequest request{rules_text,           options.at_ns,        options.repeat_interval_ns,
                                    options.external_url, targets.alertmanager, targets.webhook};
    Result<std::string> answer = Call("POST", "/v1/alerts/check", AlertCheckRequestJson(request));
    if (!answer.ok()) return answer.status();
    return Decoded(ParseAlertCheckReport(*answer));
  }
  Result<std::vector<StoredAlert>> List(const std::vector<std::string>& rules) override {
    Result<std::string> answer = Call("GET", "/v1/alerts", "");
    if (!answer.ok()) return answer.status();
    Result<std::vector<StoredAlert>> all = Decoded(ParseStoredAlerts(*answer));
    if (!all.ok() || rules.empty()) return all;
    std::vector<StoredAlert> some;
    for (StoredAlert& a : *all) {
      if (std::find(rules.begin(), rules.end(), a.rule) != rules.end()) some.push_back(std::move(a));
    }
    return some;
  }
  Result<std::vector<AlertEvent>> History(const AlertHistoryFilter& f) override {
    std::string q = "?since=" + FormatUnixSeconds(f.since_ns) + "&limit=" + std::to_string(f.limit);
    if (f.until_ns != INT64_MAX) q += "&until=" + FormatUnixSeconds(f.until_ns);
    if (!f.rule.empty()) q += "&rule=" + UrlEncode(f.rule);
    Result<std::string> answer = Call("GET", "/v1/alerts/history" + q, "");
    if (!answer.ok()) return answer.status();
    return Decoded(ParseAlertEvents(*answer));
  }
  Result<int64_t> AddSilence(const Silence& silence) override {
    Result<std::string> answer = Call("POST", "/v1/silences", SilenceJson(silence));
    if (!answer.ok()) return answer.status();
    Result<std::vector<Silence>> one = ParseSilences("[" + *answer + "]");
    if (!one.ok() || one->size() != 1) return Status::IOError("unexpected answer from " + base_);
    return one->front().id;
  }
  Result<std::vector<Silence>> Silences(int64_t at_ns, bool include_expired) override {
    Result<std::string> answer =
        Call("GET", "/v1/silences?at=" + FormatUnixSeconds(at_ns) + (include_expired ? "&all=true" : ""), "");
    if (!answer.ok()) return answer.status();
    return Decoded(ParseSilences(*answer));
  }
  Status ExpireSilence(int64_t id, int64_t) override {
    return Call("DELETE", "/v1/silences/" + std::to_string(id), "").status();
  }

 private:
  template <typename T>
  Result<T> Decoded(Result<T> r) const {
    if (!r.ok()) return Status::IOError("unexpected answer from " + base_ + ": " + r.status().message());
    return r;
  }
  Result<std::string> Call(const std::string& method, const std::string& path, const std::string& body) {
    std::vector<std::pair<std::string, std::string>> headers = BearerHeader(token_);
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    Result<HttpClientResponse> r = http_.Send(method, base_ + path, body, headers);
    if (!r.ok()) return r.status();
    if (r->status / 100 != 2) return StatusFromHttp(base_, r->status, r->body);
    return std::move(r->body);
  }

  std::string base_;
  std::string token_;
  CurlHttpClient http_{30000};
};

Result<std::unique_ptr<AlertBackend>> OpenBackend(const BackendOptions& o, const CommandIo& io, bool create) {
  Result<std::string> server = ResolveServer(o, io);
  if (!server.ok()) return server.status();
  if (!server->empty()) {
    Result<std::string> token = ResolveToken(o, io);
    if (!token.ok()) return token.status();
    return std::unique_ptr<AlertBackend>(new RemoteAlerts(*server, *token));
  }
  Store::Options options;
  options.path = ResolveStorePath(o.db, io.getenv);
  options.create_if_missing = create;
  options.warn = [err = io.err](const std::string& warning) {
    std::fprintf(err, "meshalert: warning: %s\n", warning.c_str());
  };
  Result<std::unique_ptr<Store>> store = Store::Open(options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<AlertBackend>(new LocalAlerts(std::move(store).value()));
}

// The rules file a user named (--rules, $MESH_RULES) must exist; the default location may not,
// and then the built-in rules apply alone.
bool RulesFileNamed(const std::string& flag, const CommandIo& io) {
  const char* env = io.getenv("MESH_RULES");
  return !flag.empty() || (env && *env);
}

std::string NoRulesFileHint(const std::string& path) {
  return "copy " MESH_SHARE_DIR "/rules.example.json there, or start from `meshalert rules --defaults > " + path + "`";
}

// The file's text; nullopt when the file is absent and `required` is false.
Result<std::optional<std::string>> ReadRulesFile(const std::string& path, bool required) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    if (error == ENOENT && !required) return std::optional<std::string>();
    return Status::NotFound("cannot read rules file " + path + ": " + std::strerror(error) +
                            (error == ENOENT ? " (" + NoRulesFileHint(path) + ")" : ""));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IOError("cannot read rules file " + path);
  return std::optional<std::string>(text.str());
}

struct LoadedRules {
  std::string text;  // the selected rules, a JSON array: what a remote check is sent
  std::vector<AlertRule> rules;
  std::vector<bool> built_in;
  std::string source;  // the file read, or "" when there was none
};

// The rules in force (the built-ins and the file's); with `only`, just those (each must exist).
Result<LoadedRules> LoadRules(const std::string& flag, const std::vector<std::string>& only, const CommandIo& io) {
  const std::string path = ResolveRulesPath(flag, io);
  Result<std::optional<std::string>> text = ReadRulesFile(path, RulesFileNamed(flag, io));
  if (!text.ok()) return text.status();
  Result<EffectiveRules> effective = CombineWithDefaultRules(*text);
  if (!effective.ok()) return Status::InvalidArgument(path + ": " + effective.status().message());
  LoadedRules loaded{std::move(effective->json), {}, {}, *text ? path : ""};
  if (only.empty()) {
    loaded.rules = std::move(effective->rules);
    loaded.built_in = std::move(effective->built_in);
    return loaded;
  }
  for (const std::string& name : only) {
    bool found = false;
    for (size_t i = 0; i < effective->rules.size(); ++i) {
      if (effective->rules[i].name != name) continue;
      loaded.rules.push_back(effective->rules[i]);
      loaded.built_in.push_back(effective->built_in[i]);
      found = true;
    }
    if (!found) {
      return Status::InvalidArgument("no rule named \"" + name + "\" among the built-in rules" +
                                     (loaded.source.empty() ? " (no rules file at " + path + ")" : " or in " + path) +
                                     "; meshalert rules lists them");
    }
  }
  // A remote check is sent just the selected rules.
  std::string selected = "[";
  Result<Json::Value> doc = ParseJson(loaded.text);
  for (const Json::Value& r : *doc) {
    for (const std::string& name : only) {
      if (r["name"].asString() != name) continue;
      if (selected.size() > 1) selected += ',';
      AppendJsonValue(selected, r);
    }
  }
  loaded.text = selected + "]";
  return loaded;
}

std::string CheckLine(const AlertResult& r) {
  std::string line = std::string(PluginStatusName(r.status)) + " " + TableCell(r.rule) + " service=" + TableCell(r.service) +
                     " state=" + std::string(AlertPhaseName(r.state.phase));
  const int64_t since = r.state.phase == AlertPhase::kFiring    ? r.state.fired_at_ns
                        : r.state.phase == AlertPhase::kPending ? r.state.active_since_ns
                                                                : 0;
  if (since) line += " since=" + FormatRfc3339(since);
  line += " " + TableCell(r.summary);
  if (r.silenced) line += " [silenced]";
  if (!r.notify_error.empty()) line += " [notification failed: " + TableCell(r.notify_error) + "]";
  return line + "\n";
}

std::string ValueCell(const std::optional<double>& v) { return v ? FormatAlertValue(*v) : "-"; }
std::string TimeCell(int64_t ns) { return ns ? FormatRfc3339(ns) : "-"; }

Result<int64_t> ParseRepeat(const std::string& text) {
  if (text.empty() || text == "0") return int64_t{0};
  Result<int64_t> d = ParseDuration(text);
  if (!d.ok()) return d.status().WithContext("--repeat-interval");
  return d;
}

// One evaluation round; prints its lines and returns the plugin exit code.
int CheckOnce(AlertBackend& backend, const LoadedRules& rules, const CheckOptions& o, int64_t at_ns,
              int64_t repeat_ns, const std::string& external_url, const CommandIo& io) {
  AlertCheckOptions options{at_ns, repeat_ns, external_url};
  const NotifyTargets targets{o.notify.alertmanager, o.notify.webhook, o.notify.exec};
  Result<AlertCheckReport> report = backend.Check(rules.text, rules.rules, options, targets);
  if (!report.ok()) {
    PrintError(kTool, io, report.status().message());
    return kStatusUnknown;
  }
  std::string out;
  for (const AlertResult& r : report->results) {
    out += o.output == "json" ? AlertResultJson(r) + "\n" : CheckLine(r);
  }
  if (!WriteOut(io, out)) {
    WriteFailure(kTool, io);
    return kStatusUnknown;
  }
  for (const AlertResult& r : report->results) {
    if (!r.notify_error.empty()) {
      PrintError(kTool, io, "notification for " + r.rule + "/" + r.service + " failed (retried next run): " +
                                r.notify_error);
    }
  }
  return report->exit_code;
}

struct PreparedCheck {
  std::unique_ptr<AlertBackend> backend;
  LoadedRules rules;
  int64_t repeat_ns = 0;
  std::string external_url;
};

Result<PreparedCheck> PrepareCheck(const CheckOptions& o, const CommandIo& io) {
  if (o.output != "text" && o.output != "json") {
    return Status::InvalidArgument("unknown --output '" + o.output + "' (expected text or json)");
  }
  PreparedCheck p;
  Result<int64_t> repeat = ParseRepeat(o.notify.repeat_interval);
  if (!repeat.ok()) return repeat.status();
  p.repeat_ns = *repeat;
  for (const std::string* url : {&o.notify.alertmanager, &o.notify.webhook}) {
    if (!url->empty() && url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0) {
      return Status::InvalidArgument("invalid URL '" + *url + "' (expected http://host:port/...)");
    }
  }
  Result<LoadedRules> rules = LoadRules(o.rules_file, o.rules, io);
  if (!rules.ok()) return rules.status();
  p.rules = std::move(rules).value();
  Result<std::string> server = ResolveServer(o.backend, io);
  if (!server.ok()) return server.status();
  p.external_url = o.notify.external_url.empty() ? *server : o.notify.external_url;
  while (!p.external_url.empty() && p.external_url.back() == '/') p.external_url.pop_back();
  Result<std::unique_ptr<AlertBackend>> backend = OpenBackend(o.backend, io, false);
  if (!backend.ok()) return backend.status();
  p.backend = std::move(backend).value();
  return p;
}

int FailCheck(const CommandIo& io, const Status& s) {
  PrintError(kTool, io, s.message());
  return kStatusUnknown;
}

}  // namespace

std::string ResolveRulesPath(const std::string& flag, const CommandIo& io) {
  if (!flag.empty()) return flag;
  if (const char* env = io.getenv("MESH_RULES"); env && *env) return env;
  if (const char* xdg = io.getenv("XDG_CONFIG_HOME"); xdg && *xdg) return std::string(xdg) + "/mesh/rules.json";
  const char* home = io.getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.config/mesh/rules.json";
}

int RunCheck(const CheckOptions& o, const CommandIo& io) {
  Result<PreparedCheck> p = PrepareCheck(o, io);
  if (!p.ok()) return FailCheck(io, p.status());
  const int64_t now = io.clock->NowNs();
  int64_t at = now;
  if (!o.at.empty()) {
    Result<int64_t> t = ParseTimeSpec(o.at, now);
    if (!t.ok()) return FailCheck(io, t.status().WithContext("--at"));
    at = *t;
  }
  return CheckOnce(*p->backend, p->rules, o, at, p->repeat_ns, p->external_url, io);
}

int RunWatch(const WatchOptions& o, const CommandIo& io) {
  Result<int64_t> every = ParseDuration(o.every);
  if (!every.ok() || *every < 1'000'000'000) {
    return FailCommand(kTool, io, Status::InvalidArgument("--every: expected a duration of at least 1s, like 15s"));
  }
  if (!o.check.at.empty()) return FailCommand(kTool, io, Status::InvalidArgument("watch evaluates now; --at is for check"));
  Result<PreparedCheck> p = PrepareCheck(o.check, io);
  if (!p.ok()) return FailCheck(io, p.status());
  int last = kStatusOk;
  for (int round = 0; o.iterations == 0 || round < o.iterations; ++round) {
    if (round > 0 && !SleepUnlessStopped(std::chrono::milliseconds(*every / 1'000'000))) break;
    last = CheckOnce(*p->backend, p->rules, o.check, io.clock->NowNs(), p->repeat_ns, p->external_url, io);
    if (StopRequested()) break;
  }
  // A daemon stopped on purpose exits 0; a bounded run reports its last round.
  return o.iterations == 0 ? 0 : last;
}

int RunAlertList(const AlertListOptions& o, const CommandIo& io) {
  if (o.output != "table" && o.output != "json") {
    return FailCommand(kTool, io, Status::InvalidArgument("unknown --output '" + o.output + "' (expected table or json)"));
  }
  Result<std::unique_ptr<AlertBackend>> backend = OpenBackend(o.backend, io, false);
  if (!backend.ok()) return FailCommand(kTool, io, backend.status());
  Result<std::vector<StoredAlert>> alerts = (*backend)->List(o.rules);
  if (!alerts.ok()) return FailCommand(kTool, io, alerts.status());
  // The rules in force say where each alert's rule comes from, and which were never evaluated.
  // A bad rules file does not hide the states already stored.
  Result<LoadedRules> rules = LoadRules(o.rules_file, {}, io);
  if (!rules.ok()) PrintError(kTool, io, "warning: " + rules.status().message());
  auto source_of = [&](const std::string& rule) -> std::string {
    if (!rules.ok()) return "-";
    for (size_t i = 0; i < rules->rules.size(); ++i) {
      if (rules->rules[i].name == rule) return rules->built_in[i] ? "built-in" : "file";
    }
    return "-";  // no longer in force
  };
  std::vector<const AlertRule*> unevaluated;
  if (rules.ok()) {
    for (const AlertRule& r : rules->rules) {
      const bool asked = o.rules.empty() || std::find(o.rules.begin(), o.rules.end(), r.name) != o.rules.end();
      const bool stored = std::any_of(alerts->begin(), alerts->end(), [&](const StoredAlert& a) { return a.rule == r.name; });
      if (asked && !stored) unevaluated.push_back(&r);
    }
  }
  std::string out;
  if (o.output == "json") {
    for (const StoredAlert& a : *alerts) {
      Result<Json::Value> line = ParseJson(StoredAlertJson(a));
      if (!line.ok()) return FailCommand(kTool, io, line.status());
      (*line)["source"] = source_of(a.rule);
      AppendJsonValue(out, *line);
      out += "\n";
    }
    for (const AlertRule* r : unevaluated) {
      Json::Value line(Json::objectValue);
      line["rule"] = r->name;
      line["source"] = source_of(r->name);
      line["service"] = r->service;
      line["severity"] = std::string(SeverityName(r->severity));
      line["state"] = "unevaluated";
      AppendJsonValue(out, line);
      out += "\n";
    }
  } else {
    std::vector<std::vector<std::string>> rows = {
        {"RULE", "SERVICE", "STATE", "SEVERITY", "SINCE", "VALUE", "EVALUATED", "NOTIFICATION", "SOURCE"}};
    for (const StoredAlert& a : *alerts) {
      const int64_t since = a.state.phase == AlertPhase::kFiring    ? a.state.fired_at_ns
                            : a.state.phase == AlertPhase::kPending ? a.state.active_since_ns
                                                                    : a.state.resolved_at_ns;
      std::string notify = a.notify_error.empty() ? (a.pending_sinks ? "owed" : "-") : "failed: " + a.notify_error;
      rows.push_back({TableCell(a.rule), TableCell(a.service), std::string(AlertPhaseName(a.state.phase)),
                      TableCell(a.severity), TimeCell(since), ValueCell(a.state.last_value),
                      TimeCell(a.state.last_eval_ns), ClipCell(TableCell(notify)), source_of(a.rule)});
    }
    for (const AlertRule* r : unevaluated) {
      rows.push_back({TableCell(r->name), TableCell(r->service), "unevaluated", std::string(SeverityName(r->severity)),
                      "-", "-", "-", "-", source_of(r->name)});
    }
    out = rows.size() == 1 ? "no alerts have been evaluated yet\n" : TextTable(rows);
  }
  return WriteOut(io, out) ? 0 : WriteFailure(kTool, io);
}

int RunHistory(const HistoryOptions& o, const CommandIo& io) {
  if (o.output != "table" && o.output != "json") {
    return FailCommand(kTool, io, Status::InvalidArgument("unknown --output '" + o.output + "' (expected table or json)"));
  }
  if (o.limit < 1 || o.limit > 100000) return FailCommand(kTool, io, Status::InvalidArgument("--limit: expected 1..100000"));
  const int64_t now = io.clock->NowNs();
  AlertHistoryFilter filter{.rule = o.rule, .limit = o.limit};
  Result<int64_t> since = ParseTimeSpec(o.since, now);
  if (!since.ok()) return FailCommand(kTool, io, since.status().WithContext("--since"));
  filter.since_ns = *since;
  if (!o.until.empty()) {
    Result<int64_t> until = ParseTimeSpec(o.until, now);
    if (!until.ok()) return FailCommand(kTool, io, until.status().WithContext("--until"));
    filter.until_ns = *until;
  }
  Result<std::unique_ptr<AlertBackend>> backend = OpenBackend(o.backend, io, false);
  if (!backend.ok()) return FailCommand(kTool, io, backend.status());
  Result<std::vector<AlertEvent>> events = (*backend)->History(filter);
  if (!events.ok()) return FailCommand(kTool, io, events.status());
  std::string out;
  if (o.output == "json") {
    for (const AlertEvent& e : *events) out += AlertEventJson(e) + "\n";
  } else {
    std::vector<std::vector<std::string>> rows = {{"TIME", "RULE", "SERVICE", "EVENT", "SEVERITY", "VALUE", "DETAIL"}};
    for (const AlertEvent& e : *events) {
      rows.push_back({FormatRfc3339(e.ts_ns), TableCell(e.rule), TableCell(e.service), TableCell(e.event),
                      TableCell(e.severity), ValueCell(e.value), ClipCell(TableCell(e.detail), 80)});
    }
    out = events->empty() ? "no alert events in this window\n" : TextTable(rows);
  }
  return WriteOut(io, out) ? 0 : WriteFailure(kTool, io);
}

int RunRulesTest(const RulesTestOptions& o, const CommandIo& io) {
  const std::string path = ResolveRulesPath(o.rules_file, io);
  Result<std::optional<std::string>> text = ReadRulesFile(path, true);
  if (!text.ok()) return FailCommand(kTool, io, Status::IOError(text.status().message()));
  Result<std::vector<AlertRule>> rules = ParseAlertRules(**text);
  Result<EffectiveRules> effective = CombineWithDefaultRules(*text);
  if (!rules.ok() || !effective.ok()) {
    PrintError(kTool, io, path + ": " + (rules.ok() ? effective.status() : rules.status()).message());
    return 1;
  }
  std::string out = TableCell(path) + ": SUCCESS: " + std::to_string(rules->size()) + " rules found\n";
  for (const AlertRule& r : *rules) {
    out += "  " + TableCell(r.name) + ": " + TableCell(r.signal_text) + " of " + TableCell(r.service) + " over " + FormatDuration(r.window_ns) + " " +
           std::string(CompareOpText(r.op)) + " " + FormatAlertValue(r.threshold) + std::string(SignalUnit(r.signal)) +
           (r.for_ns ? " for " + FormatDuration(r.for_ns) : "") + ", " + std::string(SeverityName(r.severity)) + "\n";
  }
  const auto built_ins = std::count(effective->built_in.begin(), effective->built_in.end(), true);
  out += "  and " + std::to_string(built_ins) + " built-in rules in force (meshalert rules lists them all)\n";
  return WriteOut(io, out) ? 0 : WriteFailure(kTool, io);
}

int RunRules(const RulesOptions& o, const CommandIo& io) {
  if (o.defaults) return WriteOut(io, std::string(DefaultAlertRulesJson())) ? 0 : WriteFailure(kTool, io);
  Result<LoadedRules> rules = LoadRules(o.rules_file, {}, io);
  if (!rules.ok()) return FailCommand(kTool, io, rules.status());
  // The rules in force as one file that needs no other: the built-ins are written out in it.
  Result<Json::Value> list = ParseJson(rules->text);
  if (!list.ok()) return FailCommand(kTool, io, list.status());
  std::string out = "{\"defaults\": false, \"rules\": [\n";
  for (Json::ArrayIndex i = 0; i < list->size(); ++i) {
    out += "  ";
    AppendJsonValue(out, (*list)[i]);
    out += i + 1 < list->size() ? ",\n" : "\n";
  }
  out += "]}\n";
  return WriteOut(io, out) ? 0 : WriteFailure(kTool, io);
}

int RunSilenceAdd(const SilenceAddOptions& o, const CommandIo& io) {
  if (o.rule.empty()) return FailCommand(kTool, io, Status::InvalidArgument("--rule is required (a rule name or glob)"));
  if (o.service.empty()) return FailCommand(kTool, io, Status::InvalidArgument("--service: expected a name or glob"));
  if (o.comment.empty()) return FailCommand(kTool, io, Status::InvalidArgument("--comment is required: say why"));
  Result<int64_t> duration = ParseDuration(o.duration);
  if (!duration.ok() || *duration <= 0) {
    return FailCommand(kTool, io, Status::InvalidArgument("--for: expected a positive duration, like 2h"));
  }
  const int64_t now = io.clock->NowNs();
  if (*duration > INT64_MAX - now) return FailCommand(kTool, io, Status::InvalidArgument("--for: too long"));
  std::string author = o.author;
  if (author.empty()) {
    const char* user = io.getenv("USER");
    author = user && *user ? user : "unknown";
  }
  Result<std::unique_ptr<AlertBackend>> backend = OpenBackend(o.backend, io, true);
  if (!backend.ok()) return FailCommand(kTool, io, backend.status());
  Silence s{0, o.rule, o.service, now, now + *duration, o.comment, author};
  Result<int64_t> id = (*backend)->AddSilence(s);
  if (!id.ok()) return FailCommand(kTool, io, id.status());
  const std::string out = std::to_string(*id) + "\n";
  return WriteOut(io, out) ? 0 : WriteFailure(kTool, io);
}

int RunSilenceList(const SilenceListOptions& o, const CommandIo& io) {
  if (o.output != "table" && o.output != "json") {
    return FailCommand(kTool, io, Status::InvalidArgument("unknown --output '" + o.output + "' (expected table or json)"));
  }
  Result<std::unique_ptr<AlertBackend>> backend = OpenBackend(o.backend, io, false);
  if (!backend.ok()) return FailCommand(kTool, io, backend.status());
  Result<std::vector<Silence>> silences = (*backend)->Silences(io.clock->NowNs(), o.all);
  if (!silences.ok()) return FailCommand(kTool, io, silences.status());
  std::string out;
  if (o.output == "json") {
    for (const Silence& s : *silences) out += SilenceJson(s) + "\n";
  } else {
    std::vector<std::vector<std::string>> rows = {{"ID", "RULE", "SERVICE", "STARTS", "ENDS", "BY", "COMMENT"}};
    for (const Silence& s : *silences) {
      rows.push_back({std::to_string(s.id), TableCell(s.rule), TableCell(s.service), FormatRfc3339(s.starts_ns),
                      FormatRfc3339(s.ends_ns), TableCell(s.created_by), ClipCell(TableCell(s.comment))});
    }
    out = silences->empty() ? "no silences\n" : TextTable(rows);
  }
  return WriteOut(io, out) ? 0 : WriteFailure(kTool, io);
}

int RunSilenceExpire(const SilenceExpireOptions& o, const CommandIo& io) {
  if (o.id <= 0) return FailCommand(kTool, io, Status::InvalidArgument("expected a silence id (see silence list)"));
  Result<std::unique_ptr<AlertBackend>> backend = OpenBackend(o.backend, io, false);
  if (!backend.ok()) return FailCommand(kTool, io, backend.status());
  if (Status s = (*backend)->ExpireSilence(o.id, io.clock->NowNs()); !s.ok()) return FailCommand(kTool, io, s);
  return 0;
}

}  // namespace mesh
