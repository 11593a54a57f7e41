#include "mesh/alerting/alert_notifier.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"

extern char** environ;

namespace mesh {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

void AppendObject(std::string& out, const Pairs& pairs) {
  out += '{';
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, pairs[i].first);
    out += ':';
    AppendJsonString(out, pairs[i].second);
  }
  out += '}';
}

void AppendTime(std::string& out, const char* key, int64_t ns) {
  out += ",\"";
  out += key;
  out += "\":";
  AppendJsonString(out, FormatRfc3339(ns));
}

// The pairs every notice shares (same key and value).
Pairs Common(const std::vector<AlertNotice>& notices, Pairs AlertNotice::*member) {
  if (notices.empty()) return {};
  Pairs common = notices.front().*member;
  for (const AlertNotice& n : notices) {
    Pairs kept;
    for (const auto& p : common) {
      for (const auto& q : n.*member) {
        if (p == q) {
          kept.push_back(p);
          break;
        }
      }
    }
    common = std::move(kept);
  }
  return common;
}

// The webhook alert shape: status, labels, annotations, startsAt, endsAt, generatorURL,
// fingerprint (endsAt is Go's zero time while firing, as Alertmanager sends it).
void AppendWebhookAlert(std::string& out, const AlertNotice& n) {
  out += "{\"status\":";
  out += n.firing ? "\"firing\"" : "\"resolved\"";
  out += ",\"labels\":";
  AppendObject(out, n.labels);
  out += ",\"annotations\":";
  AppendObject(out, n.annotations);
  AppendTime(out, "startsAt", n.starts_at_ns);
  if (n.firing) out += ",\"endsAt\":\"0001-01-01T00:00:00Z\"";
  else AppendTime(out, "endsAt", n.ends_at_ns);
  out += ",\"generatorURL\":";
  AppendJsonString(out, n.generator_url);
  out += ",\"fingerprint\":";
  AppendJsonString(out, n.Fingerprint());
}

std::string ErrorSnippet(const std::string& body) {
  std::string s = body.substr(0, 200);
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

Status PostJson(HttpClient& client, const std::string& url, const std::string& body) {
  Result<HttpClientResponse> r = client.Send("POST", url, body, {{"Content-Type", "application/json"}});
  if (!r.ok()) return Status::IOError(url + ": " + r.status().message());
  if (r->status < 200 || r->status > 299) {
    return Status::IOError(url + ": HTTP " + std::to_string(r->status) + ": " + ErrorSnippet(r->body));
  }
  return Status::Ok();
}

}  // namespace

std::string AlertNotice::Fingerprint() const {
  uint64_t h = 14695981039346656037ULL;
  const auto mix = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;  // a separator no UTF-8 text contains
    h *= 1099511628211ULL;
  };
  for (const auto& [k, v] : labels) {
    mix(k);
    mix(v);
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string AlertmanagerPayload(const std::vector<AlertNotice>& notices) {
  std::string out = "[";
  for (size_t i = 0; i < notices.size(); ++i) {
    const AlertNotice& n = notices[i];
    if (i) out += ',';
    out += "{\"labels\":";
    AppendObject(out, n.labels);
    out += ",\"annotations\":";
    AppendObject(out, n.annotations);
    AppendTime(out, "startsAt", n.starts_at_ns);
    if (!n.firing) AppendTime(out, "endsAt", n.ends_at_ns);
    if (!n.generator_url.empty()) {
      out += ",\"generatorURL\":";
      AppendJsonString(out, n.generator_url);
    }
    out += '}';
  }
  out += ']';
  return out;
}

std::string WebhookPayload(const std::vector<AlertNotice>& notices, const std::string& external_url) {
  bool firing = false;
  for (const AlertNotice& n : notices) firing = firing || n.firing;
  std::string out = "{\"version\":\"4\",\"receiver\":\"meshalert\",\"status\":";
  out += firing ? "\"firing\"" : "\"resolved\"";
  out += ",\"alerts\":[";
  for (size_t i = 0; i < notices.size(); ++i) {
    if (i) out += ',';
    AppendWebhookAlert(out, notices[i]);
    out += '}';
  }
  out += "],\"groupLabels\":{},\"commonLabels\":";
  AppendObject(out, Common(notices, &AlertNotice::labels));
  out += ",\"commonAnnotations\":";
  AppendObject(out, Common(notices, &AlertNotice::annotations));
  out += ",\"externalURL\":";
  AppendJsonString(out, external_url);
  out += ",\"groupKey\":\"{}:{}\",\"truncatedAlerts\":0}";
  return out;
}

std::string AlertNoticeJson(const AlertNotice& notice) {
  std::string out;
  AppendWebhookAlert(out, notice);
  out += ",\"rule\":";
  AppendJsonString(out, notice.rule);
  out += ",\"service\":";
  AppendJsonString(out, notice.service);
  out += ",\"value\":";
  if (notice.value) AppendJsonDouble(out, *notice.value);
  else out += "null";
  out += '}';
  return out;
}

AlertmanagerSink::AlertmanagerSink(HttpClient& client, std::string base_url) : client_(client) {
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  url_ = base_url + "/api/v2/alerts";
}

Status AlertmanagerSink::Deliver(const std::vector<AlertNotice>& notices) {
  return PostJson(client_, url_, AlertmanagerPayload(notices));
}

WebhookSink::WebhookSink(HttpClient& client, std::string url, std::string external_url)
    : client_(client), url_(std::move(url)), external_url_(std::move(external_url)) {}

Status WebhookSink::Deliver(const std::vector<AlertNotice>& notices) {
  return PostJson(client_, url_, WebhookPayload(notices, external_url_));
}

ExecSink::ExecSink(std::string command, int64_t timeout_ns) : command_(std::move(command)), timeout_ns_(timeout_ns) {}

Status ExecSink::Deliver(const std::vector<AlertNotice>& notices) {
  for (const AlertNotice& n : notices) {
    if (Status s = RunOnce(n); !s.ok()) return s;
  }
  return Status::Ok();
}

Status ExecSink::RunOnce(const AlertNotice& notice) {
  // stdin is an in-memory file rather than a pipe: a command that never reads it can neither
  // block us nor raise SIGPIPE.
  const std::string input = AlertNoticeJson(notice) + "\n";
  const int fd = memfd_create("meshalert-notice", MFD_CLOEXEC);
  if (fd < 0) return Status::IOError(std::string("exec: memfd_create: ") + std::strerror(errno));
  if (write(fd, input.data(), input.size()) != static_cast<ssize_t>(input.size()) || lseek(fd, 0, SEEK_SET) != 0) {
    close(fd);
    return Status::IOError(std::string("exec: cannot stage the alert: ") + std::strerror(errno));
  }
  // The environment is built before fork: only async-signal-safe calls happen in the child.
  std::string severity;
  for (const auto& [k, v] : notice.labels) {
    if (k == "severity") severity = v;
  }
  std::vector<std::string> env_strings = {
      "MESH_ALERT_NAME=" + notice.rule, "MESH_ALERT_SERVICE=" + notice.service,
      std::string("MESH_ALERT_STATUS=") + (notice.firing ? "firing" : "resolved"),
      "MESH_ALERT_SEVERITY=" + severity};
  std::vector<char*> env;
  for (char** e = environ; e && *e; ++e) {
    if (std::strncmp(*e, "MESH_ALERT_", 11) != 0) env.push_back(*e);
  }
  for (std::string& s : env_strings) env.push_back(s.data());
  env.push_back(nullptr);
  const char* argv[] = {"/bin/sh", "-c", command_.c_str(), nullptr};

  const pid_t pid = fork();
  if (pid < 0) {
    close(fd);
    return Status::IOError(std::string("exec: fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    dup2(fd, STDIN_FILENO);
    execve("/bin/sh", const_cast<char* const*>(argv), env.data());
    _exit(127);
  }
  close(fd);
  int status = 0;
  const timespec tick{0, 5'000'000};
  for (int64_t waited = 0;; waited += tick.tv_nsec) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return Status::IOError(std::string("exec: waitpid: ") + std::strerror(errno));
    if (waited >= timeout_ns_) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return Status::IOError("exec: `" + command_ + "` still running after " + FormatDuration(timeout_ns_) +
                             ", killed");
    }
    nanosleep(&tick, nullptr);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  if (WIFEXITED(status)) {
    return Status::IOError("exec: `" + command_ + "` exited with status " + std::to_string(WEXITSTATUS(status)));
  }
  return Status::IOError("exec: `" + command_ + "` killed by signal " + std::to_string(WTERMSIG(status)));
}

}  // namespace mesh
