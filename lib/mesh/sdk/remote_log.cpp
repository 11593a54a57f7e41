#include "mesh/sdk/remote_log.h"

#include "mesh/base/json_text.h"
#include "mesh/http/http_message.h"
#include "mesh/telemetry/log_api.h"
#include "mesh/telemetry/otlp.h"

namespace mesh {
namespace {

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::string Join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "&" + b;
}

}  // namespace

Status StatusFromHttp(const std::string& url, int status, const std::string& body) {
  std::string message = body.substr(0, 300);
  if (Result<Json::Value> v = ParseJson(body); v.ok() && v->isObject() && (*v)["error"].isString()) {
    message = (*v)["error"].asString();
  }
  if (status == 400) return Status::InvalidArgument(message);
  if (status == 404) return Status::NotFound(message);
  if (status == 401) message += " (give meshd's token with --token-file or $MESH_TOKEN)";
  return Status::IOError(url + " answered " + std::to_string(status) + ": " + message);
}

std::vector<std::pair<std::string, std::string>> BearerHeader(const std::string& token) {
  if (token.empty()) return {};
  return {{"Authorization", "Bearer " + token}};
}

RemoteLogSource::RemoteLogSource(std::string server_url, std::string token, HttpClient& client)
    : base_(TrimSlash(std::move(server_url))), token_(std::move(token)), client_(client) {}

Result<std::string> RemoteLogSource::Get(const std::string& path_and_query) {
  const std::string url = base_ + path_and_query;
  Result<HttpClientResponse> r = client_.Send("GET", url, "", BearerHeader(token_));
  if (!r.ok()) return r.status();
  if (r->status / 100 != 2) return StatusFromHttp(base_, r->status, r->body);
  return std::move(r->body);
}

Result<std::vector<LogRecord>> RemoteLogSource::Tail(const LogFilter& filter, size_t limit) {
  Result<std::string> body =
      Get("/v1/logs?" + Join(LogFilterToQuery(filter), "limit=" + std::to_string(limit)));
  if (!body.ok()) return body.status();
  Result<LogPage> page = DecodeLogPage(*body);
  if (!page.ok()) return page.status().WithContext("unexpected answer from " + base_);
  return std::move(page->records);
}

Result<std::vector<LogRecord>> RemoteLogSource::After(int64_t cursor, const LogFilter& filter,
                                                      size_t limit) {
  Result<std::string> body = Get("/v1/logs?" + Join(LogFilterToQuery(filter),
                                                    "after=" + std::to_string(cursor) +
                                                        "&limit=" + std::to_string(limit)));
  if (!body.ok()) return body.status();
  Result<LogPage> page = DecodeLogPage(*body);
  if (!page.ok()) return page.status().WithContext("unexpected answer from " + base_);
  return std::move(page->records);
}

Result<int64_t> RemoteLogSource::LatestCursor() {
  Result<std::string> body = Get("/v1/logs?limit=1");
  if (!body.ok()) return body.status();
  Result<LogPage> page = DecodeLogPage(*body);
  if (!page.ok()) return page.status().WithContext("unexpected answer from " + base_);
  return page->cursor;
}

Result<std::vector<LogRecord>> RemoteLogSource::Search(const std::string& query,
                                                       const LogFilter& filter, size_t limit,
                                                       bool oldest_first) {
  Result<std::string> body =
      Get("/v1/logs?" + Join(LogFilterToQuery(filter), "q=" + UrlEncode(query) + "&limit=" + std::to_string(limit) +
                                         (oldest_first ? "&order=asc" : "")));
  if (!body.ok()) return body.status();
  Result<LogPage> page = DecodeLogPage(*body);
  if (!page.ok()) return page.status().WithContext("unexpected answer from " + base_);
  return std::move(page->records);
}

Result<int64_t> RemoteLogSource::CountMatches(const std::string& query, const LogFilter& filter) {
  Result<std::string> body = Get("/v1/logs?" + Join(LogFilterToQuery(filter),
                                                    "q=" + UrlEncode(query) + "&count=true"));
  if (!body.ok()) return body.status();
  Result<Json::Value> v = ParseJson(*body);
  if (!v.ok() || !v->isObject() || !(*v)["count"].isIntegral()) {
    return Status::IOError("unexpected answer from " + base_ + ": no count");
  }
  return (*v)["count"].asInt64();
}

Result<std::vector<LevelCount>> RemoteLogSource::Stats(const LogFilter& filter) {
  Result<std::string> body = Get("/v1/logs/stats?" + LogFilterToQuery(filter));
  if (!body.ok()) return body.status();
  Result<std::vector<LevelCount>> counts = DecodeLevelCounts(*body);
  if (!counts.ok()) return counts.status().WithContext("unexpected answer from " + base_);
  return counts;
}

RemoteLogDestination::RemoteLogDestination(std::string server_url, std::string token,
                                           HttpClient& client)
    : base_(TrimSlash(std::move(server_url))), token_(std::move(token)), client_(client) {}

Status RemoteLogDestination::Insert(const std::vector<LogRecord>& records) {
  if (records.empty()) return Status::Ok();
  std::vector<std::pair<std::string, std::string>> headers = BearerHeader(token_);
  headers.emplace_back("Content-Type", "application/json");
  const std::string url = base_ + "/v1/logs";
  Result<HttpClientResponse> r = client_.Send("POST", url, EncodeOtlpLogs(records), headers);
  if (!r.ok()) return r.status();
  if (r->status / 100 != 2) return StatusFromHttp(url, r->status, r->body);
  Result<Json::Value> v = ParseJson(r->body);
  if (v.ok() && v->isObject() && (*v)["partialSuccess"].isObject()) {
    // OTLP sends int64 values as numbers or as decimal strings.
    const Json::Value& partial = (*v)["partialSuccess"];
    const Json::Value& count = partial["rejectedLogRecords"];
    const std::string rejected = count.isIntegral() ? std::to_string(count.asInt64())
                                 : count.isString()  ? count.asString()
                                                     : "0";
    if (rejected != "0" && !rejected.empty()) {
      const Json::Value& why = partial["errorMessage"];
      return Status::InvalidArgument(url + " rejected " + rejected + " records: " +
                                     (why.isString() ? why.asString() : std::string()));
    }
  }
  return Status::Ok();
}

}  // namespace mesh
