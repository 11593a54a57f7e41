#include "mesh/proxy/proxy_config.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "deep_json.h"
#include "mesh/base/json_depth.h"

namespace mesh {
namespace proxy_proxy_config_test {

ProxyConfig Valid() {
  ProxyConfig c;
  c.service = "orders";
  c.service_port = 8081;
  return c;
}

TEST(ProxyConfig, TakesAnAdvertiseAddressFromTheFileAndChecksIt) {
  ProxyConfig c = Valid();
  ASSERT_TRUE(ApplyProxyConfigFile(R"({"listen":"0.0.0.0:15001","advertise":"[2001:db8::5]:15001"})", c).ok());
  EXPECT_EQ(c.advertise, "[2001:db8::5]:15001");
  EXPECT_TRUE(ValidateProxyConfig(c).ok());
  EXPECT_NE(ProxyConfigJson(c).find("\"advertise\":\"[2001:db8::5]:15001\""), std::string::npos);
  for (const char* bad : {"0.0.0.0:15001", "[::]:15001", "mesh.example:15001", "10.0.0.5", "10.0.0.5:99999", "::1:15001"}) {
    c.advertise = bad;
    const Status s = ValidateProxyConfig(c);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("--advertise"), std::string::npos) << s.message();
  }
}

TEST(ProxyConfig, ListensOnAnIpv6AddressInBrackets) {
  ProxyConfig c = Valid();
  c.listen = "[::1]:15001";
  EXPECT_TRUE(ValidateProxyConfig(c).ok());
  c.listen = "::1:15001";  // ambiguous without brackets
  EXPECT_EQ(ValidateProxyConfig(c).code(), Status::Code::kInvalidArgument);
}

TEST(ProxyConfigFile, ReadsOurNames) {
  ProxyConfig c;
  ASSERT_TRUE(ApplyProxyConfigFile(R"({"service":"orders","service_port":8081,"listen":"127.0.0.1:16001",
      "outbound":"","admin":"127.0.0.1:16090","meshd":"http://127.0.0.1:9000","threads":2,
      "timeout":"2.5s","access_log":false,"app_metrics_path":"/metrics"})", c).ok());
  EXPECT_EQ(c.service, "orders");
  EXPECT_EQ(c.service_port, 8081);
  EXPECT_EQ(c.listen, "127.0.0.1:16001");
  EXPECT_EQ(c.outbound, "");
  EXPECT_EQ(c.threads, 2);
  EXPECT_EQ(c.timeout.count(), 2500);
  EXPECT_FALSE(c.access_log);
  EXPECT_EQ(c.app_metrics_path, "/metrics");
  EXPECT_TRUE(ValidateProxyConfig(c).ok());
}

TEST(ProxyConfigFile, ReadsTheTelemetryQueueAndRefusesOneOutOfRange) {
  ProxyConfig c = Valid();
  ASSERT_TRUE(ApplyProxyConfigFile(R"({"telemetry_queue":16})", c).ok());
  EXPECT_EQ(c.telemetry_queue, 16);
  EXPECT_TRUE(ValidateProxyConfig(c).ok());
  EXPECT_FALSE(ApplyProxyConfigFile(R"({"telemetry_queue":"big"})", c).ok());
  for (const int bad : {0, -1, (1 << 20) + 1}) {
    c.telemetry_queue = bad;
    EXPECT_NE(ValidateProxyConfig(c).message().find("telemetry queue"), std::string::npos) << bad;
  }
}

TEST(ProxyConfigFile, ReadsTheStreamIdleTimeoutAndRefusesABadOne) {
  ProxyConfig c = Valid();
  EXPECT_EQ(c.stream_idle_timeout.count(), 60000);
  ASSERT_TRUE(ApplyProxyConfigFile(R"({"stream_idle_timeout":"5m"})", c).ok());
  EXPECT_EQ(c.stream_idle_timeout.count(), 300000);
  EXPECT_TRUE(ValidateProxyConfig(c).ok());
  EXPECT_NE(ProxyConfigJson(c).find("\"stream_idle_timeout_ms\":300000"), std::string::npos);
  const Status bad = ApplyProxyConfigFile(R"({"stream_idle_timeout":"soon"})", c);
  EXPECT_NE(bad.message().find("stream_idle_timeout"), std::string::npos) << bad.message();
  c.stream_idle_timeout = std::chrono::milliseconds(0);
  EXPECT_NE(ValidateProxyConfig(c).message().find("stream idle timeout"), std::string::npos);
}

TEST(ProxyConfigFile, ReadsTheSeedsNames) {
  ProxyConfig c;
  ASSERT_TRUE(ApplyProxyConfigFile(R"({"ServiceName":"payments","ServicePort":8082,"ProxyPort":15003,
      "ControlPlaneURL":"http://10.0.0.1:9000"})", c).ok());
  EXPECT_EQ(c.service, "payments");
  EXPECT_EQ(c.service_port, 8082);
  EXPECT_EQ(c.listen, "127.0.0.1:15003");
  EXPECT_EQ(c.meshd, "http://10.0.0.1:9000");
}

TEST(ProxyConfigFile, NamesTheBadSetting) {
  const std::pair<const char*, const char*> cases[] = {
      {"[]", "JSON object"},
      {"{\"service_port\":\"8081\"}", "service_port"},
      {"{\"ServicePort\":70000}", "ServicePort"},
      {"{\"timeout\":\"soon\"}", "timeout"},
      {"{\"access_log\":1}", "access_log"},
      {"{\"access_log_sample\":\"all\"}", "access_log_sample"},
      {"{\"colour\":\"blue\"}", "unknown setting 'colour'"},
      {"{\"service\":", "config file"},
  };
  for (const auto& [json, needle] : cases) {
    ProxyConfig c;
    Status s = ApplyProxyConfigFile(json, c);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << json;
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
  }
}

TEST(ProxyConfigValidation, RequiresAServiceAndItsPort) {
  ProxyConfig c = Valid();
  c.service.clear();
  EXPECT_NE(ValidateProxyConfig(c).message().find("--service"), std::string::npos);
  c = Valid();
  c.service_port = 0;
  EXPECT_NE(ValidateProxyConfig(c).message().find("--service-port"), std::string::npos);
  c = Valid();
  c.service = "a b";
  EXPECT_FALSE(ValidateProxyConfig(c).ok());
  c = Valid();
  c.meshd = "127.0.0.1:9000";
  EXPECT_FALSE(ValidateProxyConfig(c).ok());
  c = Valid();
  c.access_log_sample = 1.5;
  EXPECT_FALSE(ValidateProxyConfig(c).ok());
  c = Valid();
  c.admin = "nowhere";
  EXPECT_FALSE(ValidateProxyConfig(c).ok());
  for (const char* bad : {"metrics", "/metrics?x=1", "/a b"}) {
    c = Valid();
    c.app_metrics_path = bad;
    EXPECT_NE(ValidateProxyConfig(c).message().find("app metrics path"), std::string::npos) << bad;
  }
  EXPECT_TRUE(ValidateProxyConfig(Valid()).ok());
}

TEST(ProxyConfigJson, ShowsTheSettings) {
  const std::string json = ProxyConfigJson(Valid());
  EXPECT_NE(json.find("\"service\":\"orders\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"timeout_ms\":10000"), std::string::npos) << json;
}

TEST(ProxyConfigFile, ReadsTheMtlsSettings) {
  ProxyConfig c;
  ASSERT_TRUE(ApplyProxyConfigFile(R"({"mtls":true,"data_dir":"/var/lib/mesh/o","join_token_file":"/etc/j",
                                     "cert_ttl":"2h"})",
                                   c)
                  .ok());
  EXPECT_TRUE(c.mtls);
  EXPECT_EQ(c.data_dir, "/var/lib/mesh/o");
  EXPECT_EQ(c.join_token_file, "/etc/j");
  EXPECT_EQ(c.cert_ttl, "2h");
  EXPECT_FALSE(ApplyProxyConfigFile(R"({"mtls":"yes"})", c).ok());
}

TEST(ProxyConfigValidation, MtlsNeedsMeshdAndAValidTtl) {
  ProxyConfig c = Valid();
  c.mtls = true;
  c.meshd = "";
  EXPECT_NE(ValidateProxyConfig(c).message().find("--mtls needs --meshd"), std::string::npos);
  c.meshd = "http://127.0.0.1:9000";
  EXPECT_TRUE(ValidateProxyConfig(c).ok());
  c.cert_ttl = "soon";
  EXPECT_FALSE(ValidateProxyConfig(c).ok());
  c.cert_ttl = "";
  c.plaintext_inbound = true;
  EXPECT_TRUE(ValidateProxyConfig(c).ok());
  c.mtls = false;
  EXPECT_NE(ValidateProxyConfig(c).message().find("only makes sense with --mtls"), std::string::npos);
}

TEST(ProxyDataDir, DefaultsToTheXdgStateDirectoryPerService) {
  ProxyConfig c = Valid();
  const auto env = [](const char* name) -> const char* {
    return std::string(name) == "HOME" ? "/home/u" : nullptr;
  };
  EXPECT_EQ(ProxyDataDir(c, env), "/home/u/.local/state/mesh/meshproxy-orders");
  const auto xdg = [](const char* name) -> const char* {
    return std::string(name) == "XDG_STATE_HOME" ? "/state" : "/home/u";
  };
  EXPECT_EQ(ProxyDataDir(c, xdg), "/state/mesh/meshproxy-orders");
  c.data_dir = "/srv/o";
  EXPECT_EQ(ProxyDataDir(c, xdg), "/srv/o");
}

TEST(ClientConnectionLimit, KeepsADescriptorPerClientForItsUpstreamAndAReserve) {
  // 256 descriptors, two listeners: (256 - 64) / 2 / 2.
  EXPECT_EQ(ClientConnectionLimit(256, 2), 48);
  EXPECT_EQ(ClientConnectionLimit(20000, 1), (20000 - 64) / 2);
  EXPECT_EQ(ClientConnectionLimit(256, 0), 96) << "no listener counts as one";
}

TEST(ProxyConfigFile, ReadsTheUpstreamLimitsAndRefusesNegativeOnes) {
  ProxyConfig c = Valid();
  EXPECT_EQ(c.max_upstream_requests, 1024);  // Envoy's defaults
  EXPECT_EQ(c.max_upstream_connections, 1024);
  EXPECT_EQ(c.max_upstream_pending, 1024);
  ASSERT_TRUE(ApplyProxyConfigFile(
                  R"({"max_upstream_requests":100,"max_upstream_connections":50,"max_upstream_pending":0})", c)
                  .ok());
  EXPECT_EQ(c.max_upstream_requests, 100);
  EXPECT_EQ(c.max_upstream_connections, 50);
  EXPECT_EQ(c.max_upstream_pending, 0);
  EXPECT_TRUE(ValidateProxyConfig(c).ok());
  const std::string json = ProxyConfigJson(c);
  EXPECT_NE(json.find("\"max_upstream_requests\":100,\"max_upstream_connections\":50,\"max_upstream_pending\":0"),
            std::string::npos)
      << json;
  EXPECT_FALSE(ApplyProxyConfigFile(R"({"max_upstream_pending":1.5})", c).ok());
  c.max_upstream_connections = -1;
  EXPECT_NE(ValidateProxyConfig(c).message().find("upstream limits"), std::string::npos);
}

TEST(ClientConnectionLimit, NeverZeroNorOverflowingWhateverTheLimit) {
  EXPECT_EQ(ClientConnectionLimit(0, 2), 1);
  EXPECT_EQ(ClientConnectionLimit(64, 2), 1);
  EXPECT_EQ(ClientConnectionLimit(std::numeric_limits<uint64_t>::max(), 2), std::numeric_limits<int32_t>::max());
}

TEST(ProxyConfigFile, ReadsTheClientConnectionLimitAndRefusesANegativeOne) {
  ProxyConfig c = Valid();
  ASSERT_TRUE(ApplyProxyConfigFile(R"({"max_client_connections":500})", c).ok());
  EXPECT_EQ(c.max_client_connections, 500);
  EXPECT_NE(ProxyConfigJson(c).find("\"max_client_connections\":500"), std::string::npos);
  EXPECT_FALSE(ApplyProxyConfigFile(R"({"max_client_connections":"many"})", c).ok());
  c.max_client_connections = -1;
  EXPECT_NE(ValidateProxyConfig(c).message().find("max client connections"), std::string::npos);
}

}  // namespace
}  // namespace mesh

namespace mesh {
namespace proxy_proxy_config_test {

TEST(ProxyConfigFile, RefusesNestingPastTheBoundOnASmallStack) {
  testing::RunOnSmallStack([] {
    for (const std::string& deep : {testing::WithNestedMember(R"({"service":"orders"})", kMaxJsonDepth),
                                    testing::NestedObjects(1000), std::string(100'000, '[')}) {
      ProxyConfig c;
      const Status s = ApplyProxyConfigFile(deep, c);
      EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
      EXPECT_NE(s.message().find("nested deeper than 64 levels"), std::string::npos) << s.message();
    }
  });
}

}  // namespace
}  // namespace mesh

namespace mesh {
namespace proxy_proxy_config_test {

TEST(ProxyConfigValidation, AMeshdCaHashIsSha256HexAndNeedsAnHttpsMeshd) {
  ProxyConfig c;
  c.service = "orders";
  c.service_port = 8080;
  c.meshd = "https://meshd.example:9000";
  c.meshd_ca_hash = "sha256:" + std::string(64, 'a');
  EXPECT_TRUE(ValidateProxyConfig(c).ok()) << ValidateProxyConfig(c).message();
  for (const std::string& bad : {"sha256:" + std::string(63, 'a'), "sha256:" + std::string(64, 'A'),
                                "md5:" + std::string(64, 'a'), std::string(64, 'a'), std::string("sha256:")}) {
    c.meshd_ca_hash = bad;
    EXPECT_NE(ValidateProxyConfig(c).message().find("meshd CA hash"), std::string::npos) << bad;
  }
  c.meshd_ca_hash = "sha256:" + std::string(64, 'a');
  c.meshd = "http://meshd.example:9000";
  EXPECT_NE(ValidateProxyConfig(c).message().find("needs an https:// --meshd"), std::string::npos);
  ASSERT_TRUE(ApplyProxyConfigFile("{\"meshd_ca_hash\": \"sha256:" + std::string(64, 'b') + "\"}", c).ok());
  EXPECT_EQ(c.meshd_ca_hash, "sha256:" + std::string(64, 'b'));
}

}  // namespace
}  // namespace mesh
