// WorkloadIdentity: a meshproxy's mTLS certificate, from meshd's CA.
// - The private key is made once (EC P-256) in the data directory (key.pem, mode 0600) and never
//   leaves it: meshd sees only a CSR (POST /v1/certs with the join token).
// - The certificate (cert.pem, with ca.pem beside it) is kept there too, so that a proxy
//   restarted while meshd is down carries on with a certificate still valid.
// - Renewal at two thirds of the lifetime (counted from when the certificate arrived), on a thread of its own; a failed renewal is retried
//   every `retry_every` until it succeeds. Each new certificate goes to `on_renewed` (the data
//   plane's UpdateTls): connections already open are not touched.
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "mesh/base/clock.h"
#include "mesh/base/status.h"
#include "mesh/http/http_client.h"
#include "mesh/security/tls_credentials.h"

namespace mesh {

class WorkloadIdentity {
 public:
  struct Options {
    std::string meshd_url;
    std::string join_token;
    std::string service;
    std::string data_dir;
    std::string ttl;  // e.g. "24h"; empty: meshd's default
    std::chrono::milliseconds retry_every{2000};
    // Given a stored certificate still valid for this key before meshd is first asked, so that
    // the client of an https:// meshd presents it: a restarted sidecar whose one-use token is
    // spent renews by its certificate.
    std::function<void(const TlsCredentials&)> on_stored = nullptr;
  };

  // `client` defaults to an AsioHttpClient with a 5 s timeout.
  WorkloadIdentity(Options options, const Clock& clock, std::unique_ptr<HttpClient> client = nullptr);
  ~WorkloadIdentity();  // stops renewing

  // Loads or makes the key, then gets a certificate from meshd, trying until `wait` has passed;
  // meshd unreachable, a stored certificate still valid for this key is used instead.
  // Errors: IOError (no certificate to be had), InvalidArgument (meshd refused: its message).
  Result<TlsCredentials> Obtain(std::chrono::milliseconds wait);
  // Starts renewing the certificate Obtain() got.
  void StartRenewing(std::function<void(const TlsCredentials&)> on_renewed);

  // When the current certificate ends, and when it is to be renewed (Unix ns).
  int64_t not_after_ns() const;
  int64_t renew_at_ns() const;
  int64_t renewals() const;
  int64_t renewal_failures() const;

 private:
  Result<std::string> LoadOrMakeKey();
  Result<TlsCredentials> Request(const std::string& key_pem);
  Result<TlsCredentials> Stored(const std::string& key_pem) const;
  void Adopt(const TlsCredentials& credentials);
  void Run();

  const Options options_;
  const Clock& clock_;
  std::unique_ptr<HttpClient> client_;  // used by Obtain, then by the renewal thread only

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::string key_pem_;
  TlsCredentials current_;
  int64_t not_before_ns_ = 0;
  int64_t not_after_ns_ = 0;
  int64_t renewals_ = 0;
  int64_t renewal_failures_ = 0;
  std::function<void(const TlsCredentials&)> on_renewed_;
  std::thread thread_;
};

}  // namespace mesh
