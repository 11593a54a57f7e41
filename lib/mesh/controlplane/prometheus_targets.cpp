#include "mesh/controlplane/prometheus_targets.h"

#include <json/value.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "mesh/base/json_text.h"

namespace mesh {
namespace {

struct Address {
  std::string host;
  int port = 0;
};

// "host:port" with a DNS name or IPv4 host, or "[v6]:port", and a port in 1..65535. Anything
// else (a URL, spaces, port 0 of a proxy that let the kernel pick) is not a scrape target.
std::optional<Address> ParseAddress(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  Address a;
  a.host = std::string(text.substr(0, colon));
  const std::string_view port = text.substr(colon + 1);
  const auto r = std::from_chars(port.data(), port.data() + port.size(), a.port);
  if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || a.port < 1 ||
      a.port > 65535) {
    return std::nullopt;
  }
  if (a.host.size() >= 2 && a.host.front() == '[' && a.host.back() == ']') {
    const bool v6 = std::all_of(a.host.begin() + 1, a.host.end() - 1, [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
    });
    return v6 ? std::optional<Address>(a) : std::nullopt;
  }
  const bool name = std::all_of(a.host.begin(), a.host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
  if (!name) return std::nullopt;
  return a;  // an empty host is allowed here: the caller decides what it means
}

bool IsWildcardHost(const std::string& host) {
  return host.empty() || host == "0.0.0.0" || host == "[::]";
}

std::string Join(const Address& a) { return a.host + ":" + std::to_string(a.port); }

// An instance's registered host in an address: an IPv6 one goes in brackets.
std::string AddressHost(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

std::string MetaString(const Json::Value& meta, const char* key) {
  const Json::Value& v = meta[key];
  return v.isString() ? v.asString() : std::string();
}

// A metrics path Prometheus can put in a URL as is: absolute, no spaces or control characters,
// no query or fragment (those would be escaped into the path).
bool IsMetricsPath(const std::string& path) {
  if (path.empty() || path.front() != '/' || path.size() > 1024) return false;
  return std::none_of(path.begin(), path.end(), [](char c) {
    const unsigned char u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f || c == '?' || c == '#';
  });
}

}  // namespace

std::vector<TargetGroup> BuildPrometheusTargets(const std::vector<Instance>& instances,
                                                int64_t now_ns, std::string_view meshd_address,
                                                int64_t up_since_ns) {
  std::vector<TargetGroup> groups;
  if (std::optional<Address> meshd = ParseAddress(meshd_address); meshd && !meshd->host.empty()) {
    groups.push_back({{Join(*meshd)}, {{"mesh_role", "meshd"}}});
  }
  std::vector<const Instance*> sorted;
  for (const Instance& i : instances) {
    if (IsHealthy(i, now_ns, up_since_ns)) sorted.push_back(&i);
  }
  std::sort(sorted.begin(), sorted.end(), [](const Instance* a, const Instance* b) {
    return a->service != b->service ? a->service < b->service : a->id < b->id;
  });
  for (const Instance* i : sorted) {
    Result<Json::Value> meta = ParseJson(i->meta.empty() ? std::string_view("{}") : i->meta);
    if (!meta.ok() || !meta->isObject()) continue;
    const std::map<std::string, std::string> common = {{"service", i->service},
                                                       {"mesh_instance", i->id}};
    if (std::optional<Address> admin = ParseAddress(MetaString(*meta, "admin"))) {
      if (IsWildcardHost(admin->host)) admin->host = AddressHost(i->host);
      if (!admin->host.empty()) {
        TargetGroup proxy{{Join(*admin)}, common};
        proxy.labels["mesh_role"] = "proxy";
        groups.push_back(std::move(proxy));
      }
    }
    const std::string path = MetaString(*meta, "app_metrics_path");
    std::optional<Address> app = ParseAddress(MetaString(*meta, "app"));
    if (app && IsMetricsPath(path)) {
      if (IsWildcardHost(app->host)) app->host = AddressHost(i->host);
      if (!app->host.empty()) {
        TargetGroup group{{Join(*app)}, common};
        group.labels["mesh_role"] = "app";
        group.labels["__metrics_path__"] = path;
        groups.push_back(std::move(group));
      }
    }
  }
  return groups;
}

std::string FormatTargetGroups(const std::vector<TargetGroup>& groups) {
  std::string out = "[";
  for (size_t g = 0; g < groups.size(); ++g) {
    if (g) out += ',';
    out += "{\"targets\":[";
    for (size_t t = 0; t < groups[g].targets.size(); ++t) {
      if (t) out += ',';
      AppendJsonString(out, groups[g].targets[t]);
    }
    out += "],\"labels\":{";
    bool first = true;
    for (const auto& [name, value] : groups[g].labels) {
      if (!first) out += ',';
      first = false;
      AppendJsonString(out, name);
      out += ':';
      AppendJsonString(out, value);
    }
    out += "}}";
  }
  out += ']';
  return out;
}

}  // namespace mesh
