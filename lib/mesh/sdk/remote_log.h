// meshlog against a remote meshd: RemoteLogSource reads through GET /v1/logs (see log_api.h)
// and RemoteLogDestination writes through POST /v1/logs in OTLP/HTTP JSON, so every meshlog
// subcommand works the same on a local file and on a server. Not thread-safe (one HTTP
// connection each).
#pragma once

#include <memory>
#include <string>

#include "mesh/http/http_client.h"
#include "mesh/telemetry/log_source.h"

namespace mesh {

class RemoteLogSource : public LogSource {
 public:
  // `token` is sent as a bearer token when not empty (meshd --read-token-file).
  RemoteLogSource(std::string server_url, std::string token, HttpClient& client);

  Result<std::vector<LogRecord>> Tail(const LogFilter& filter, size_t limit) override;
  Result<std::vector<LogRecord>> After(int64_t cursor, const LogFilter& filter,
                                       size_t limit) override;
  Result<int64_t> LatestCursor() override;
  Result<std::vector<LogRecord>> Search(const std::string& query, const LogFilter& filter,
                                        size_t limit, bool oldest_first) override;
  Result<int64_t> CountMatches(const std::string& query, const LogFilter& filter) override;
  Result<std::vector<LevelCount>> Stats(const LogFilter& filter) override;

 private:
  Result<std::string> Get(const std::string& path_and_query);
  std::string base_;
  std::string token_;
  HttpClient& client_;
};

class RemoteLogDestination : public LogDestination {
 public:
  // `token` is sent as a bearer token when not empty.
  RemoteLogDestination(std::string server_url, std::string token, HttpClient& client);
  Status Insert(const std::vector<LogRecord>& records) override;
  Result<int64_t> IndexPending(int64_t) override { return 0; }  // meshd indexes itself
  std::string Name() const override { return base_; }

 private:
  std::string base_;
  std::string token_;
  HttpClient& client_;
};

// {"Authorization", "Bearer <token>"}, or no header for an empty token.
std::vector<std::pair<std::string, std::string>> BearerHeader(const std::string& token);

// A non-2xx answer of meshd as a Status: 400 InvalidArgument, 404 NotFound, others IOError;
// the message is meshd's {"error": ...} when there is one (for a 401, with how to give a token).
Status StatusFromHttp(const std::string& url, int status, const std::string& body);

}  // namespace mesh
