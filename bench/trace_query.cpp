// trace_query: times GET /v1/traces/{id} on a running meshd for trace ids read from a file,
// one keep-alive connection, and prints the median, p99 and max latency in milliseconds.
//   trace_query URL IDS_FILE REQUESTS
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "mesh/http/http_client.h"
#include "mesh/http_curl/curl_http_client.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: trace_query URL IDS_FILE REQUESTS\n");
    return 2;
  }
  std::vector<std::string> ids;
  std::ifstream in(argv[2]);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) ids.push_back(line);
  }
  if (ids.empty()) {
    std::fprintf(stderr, "trace_query: no trace ids in %s\n", argv[2]);
    return 1;
  }
  const int requests = std::atoi(argv[3]);
  mesh::CurlHttpClient http;
  std::vector<double> ms;
  long failures = 0;
  for (int i = 0; i < requests; ++i) {
    const std::string& id = ids[(static_cast<size_t>(i) * 7919) % ids.size()];
    const auto start = std::chrono::steady_clock::now();
    auto r = http.Send("GET", std::string(argv[1]) + "/v1/traces/" + id, "", {});
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    if (!r.ok() || r->status != 200) ++failures;
  }
  std::sort(ms.begin(), ms.end());
  std::printf("requests=%d median_ms=%.3f p99_ms=%.3f max_ms=%.3f failures=%ld\n", requests,
              ms[ms.size() / 2], ms[ms.size() * 99 / 100], ms.back(), failures);
  return failures == 0 ? 0 : 1;
}
