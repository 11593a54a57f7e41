#include "mesh/proxy/workload_identity.h"

#include <json/value.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "mesh/base/json_text.h"
#include "mesh/http/asio_http_client.h"
#include "mesh/security/spiffe_id.h"
#include "mesh/security/x509.h"

namespace mesh {

WorkloadIdentity::WorkloadIdentity(Options options, const Clock& clock, std::unique_ptr<HttpClient> client)
    : options_(std::move(options)),
      clock_(clock),
      client_(client ? std::move(client) : std::make_unique<AsioHttpClient>(5000)) {}

WorkloadIdentity::~WorkloadIdentity() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<std::string> WorkloadIdentity::LoadOrMakeKey() {
  const std::string path = options_.data_dir + "/key.pem";
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if ((st.st_mode & 077) != 0) {
      return Status::InvalidArgument("private key " + path + " is readable by group or others (chmod 600 " + path + ")");
    }
    return ReadWholeFile(path);
  }
  std::error_code ec;
  std::filesystem::create_directories(options_.data_dir, ec);
  if (ec) return Status::IOError("cannot create " + options_.data_dir + ": " + ec.message());
  ::chmod(options_.data_dir.c_str(), 0700);
  Result<std::string> key = GeneratePrivateKeyPem();
  if (!key.ok()) return key;
  if (Status s = WritePrivateFile(path, *key); !s.ok()) return s;
  return key;
}

Result<TlsCredentials> WorkloadIdentity::Request(const std::string& key_pem) {
  // The trust domain is meshd's to say: the CSR's SAN is only a courtesy, which the CA ignores.
  Result<std::string> csr = MakeCsrPem(key_pem, options_.service, "spiffe://mesh/service/" + options_.service);
  if (!csr.ok()) return csr.status();
  std::string body = "{\"service\":";
  AppendJsonString(body, options_.service);
  body += ",\"csr_pem\":";
  AppendJsonString(body, *csr);
  if (!options_.ttl.empty()) {
    body += ",\"ttl\":";
    AppendJsonString(body, options_.ttl);
  }
  body += '}';
  std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", "application/json"}};
  if (!options_.join_token.empty()) headers.emplace_back("Authorization", "Bearer " + options_.join_token);
  std::string base = options_.meshd_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  Result<HttpClientResponse> r = client_->Send("POST", base + "/v1/certs", body, headers);
  if (!r.ok()) return Status::IOError("cannot reach meshd for a certificate: " + r.status().message());
  Result<Json::Value> doc = ParseJson(r->body);
  if (r->status != 200) {
    const std::string why = doc.ok() && doc->isObject() && (*doc)["error"].isString() ? (*doc)["error"].asString()
                                                                                   : r->body.substr(0, 200);
    const std::string message = "meshd refused a certificate (" + std::to_string(r->status) + "): " + why;
    return r->status >= 500 ? Status::IOError(message) : Status::InvalidArgument(message);
  }
  if (!doc.ok() || !doc->isObject() || !(*doc)["certificate_pem"].isString() || !(*doc)["ca_pem"].isString() ||
      !(*doc)["spiffe_id"].isString()) {
    return Status::IOError("meshd's certificate answer is not what was expected");
  }
  Result<ServiceIdentity> id = ParseSpiffeId((*doc)["spiffe_id"].asString());
  if (!id.ok()) return id.status();
  TlsCredentials c{(*doc)["certificate_pem"].asString(), key_pem, (*doc)["ca_pem"].asString(), id->trust_domain};
  if (Status s = CheckKeyMatchesCertificate(key_pem, c.certificate_pem); !s.ok()) return s;
  if (Status s = VerifyCertificate(c.certificate_pem, c.ca_pem, clock_.NowNs()); !s.ok()) {
    return s.WithContext("meshd's certificate");
  }
  // Kept for a restart while meshd is down.
  for (const auto& [name, pem] : {std::pair{"/cert.pem", &c.certificate_pem}, std::pair{"/ca.pem", &c.ca_pem}}) {
    if (Status s = WritePrivateFile(options_.data_dir + name, *pem); !s.ok()) return s;
  }
  return c;
}

Result<TlsCredentials> WorkloadIdentity::Stored(const std::string& key_pem) const {
  Result<std::string> cert = ReadWholeFile(options_.data_dir + "/cert.pem");
  Result<std::string> ca = ReadWholeFile(options_.data_dir + "/ca.pem");
  if (!cert.ok() || !ca.ok()) return Status::NotFound("no stored certificate");
  if (Status s = CheckKeyMatchesCertificate(key_pem, *cert); !s.ok()) return s;
  if (Status s = VerifyCertificate(*cert, *ca, clock_.NowNs()); !s.ok()) return s.WithContext("stored certificate");
  Result<CertificateInfo> info = InspectCertificate(*cert);
  if (!info.ok()) return info.status();
  Result<ServiceIdentity> id = ParseSpiffeId(info->spiffe_id);
  if (!id.ok() || id->service != options_.service) {
    return Status::InvalidArgument("stored certificate is not for service " + options_.service);
  }
  return TlsCredentials{*cert, key_pem, *ca, id->trust_domain};
}

void WorkloadIdentity::Adopt(const TlsCredentials& credentials) {
  Result<CertificateInfo> info = InspectCertificate(credentials.certificate_pem);
  std::lock_guard lock(mu_);
  current_ = credentials;
  // The lifetime counts from when the certificate arrived: meshd backdates the start a little
  // for clock skew, which would otherwise eat into short lifetimes.
  not_before_ns_ = info.ok() ? std::max(info->not_before_ns, clock_.NowNs()) : clock_.NowNs();
  not_after_ns_ = info.ok() ? info->not_after_ns : clock_.NowNs();
}

Result<TlsCredentials> WorkloadIdentity::Obtain(std::chrono::milliseconds wait) {
  Result<std::string> key = LoadOrMakeKey();
  if (!key.ok()) return key.status();
  {
    std::lock_guard lock(mu_);
    key_pem_ = *key;
  }
  if (options_.on_stored) {
    if (Result<TlsCredentials> stored = Stored(*key); stored.ok()) options_.on_stored(*stored);
  }
  const auto until = std::chrono::steady_clock::now() + wait;
  Result<TlsCredentials> got = Request(*key);
  while (!got.ok() && got.status().code() == Status::Code::kIOError && std::chrono::steady_clock::now() < until) {
    std::unique_lock lock(mu_);
    if (wake_.wait_for(lock, options_.retry_every, [this] { return stop_; })) break;
    lock.unlock();
    got = Request(*key);
  }
  if (!got.ok() && got.status().code() == Status::Code::kIOError) {
    Result<TlsCredentials> stored = Stored(*key);
    if (!stored.ok()) return got.status();
    got = std::move(stored);
  }
  if (!got.ok()) return got.status();
  Adopt(*got);
  return got;
}

void WorkloadIdentity::StartRenewing(std::function<void(const TlsCredentials&)> on_renewed) {
  on_renewed_ = std::move(on_renewed);
  thread_ = std::thread([this] { Run(); });
}

int64_t WorkloadIdentity::renew_at_ns() const {
  std::lock_guard lock(mu_);
  return not_before_ns_ + (not_after_ns_ - not_before_ns_) * 2 / 3;
}

int64_t WorkloadIdentity::not_after_ns() const {
  std::lock_guard lock(mu_);
  return not_after_ns_;
}

int64_t WorkloadIdentity::renewals() const {
  std::lock_guard lock(mu_);
  return renewals_;
}

int64_t WorkloadIdentity::renewal_failures() const {
  std::lock_guard lock(mu_);
  return renewal_failures_;
}

void WorkloadIdentity::Run() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      const int64_t renew_at = not_before_ns_ + (not_after_ns_ - not_before_ns_) * 2 / 3;
      // Wall-clock deadline, checked in short steps: a suspended machine or a clock step must
      // not push renewal past expiry.
      while (!stop_ && clock_.NowNs() < renew_at) {
        const int64_t left_ms = (renew_at - clock_.NowNs()) / 1'000'000;
        wake_.wait_for(lock, std::chrono::milliseconds(std::clamp<int64_t>(left_ms, 1, 1000)));
      }
      if (stop_) return;
    }
    Result<TlsCredentials> renewed = Request(key_pem_);
    if (!renewed.ok()) {
      std::unique_lock lock(mu_);
      ++renewal_failures_;
      if (wake_.wait_for(lock, options_.retry_every, [this] { return stop_; })) return;
      continue;
    }
    Adopt(*renewed);
    {
      std::lock_guard lock(mu_);
      ++renewals_;
    }
    if (on_renewed_) on_renewed_(*renewed);
  }
}

}  // namespace mesh
