// The systemd units in share/mesh/systemd under systemd's own checker, `systemd-analyze verify`,
// which loads unit files offline (systemd need not be PID 1). verify wants ExecStart to exist and
// Documentation=man: pages to be found, so the units are checked as copies whose ExecStart
// points at the built binaries, with MANPATH at the repository's man pages.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "interop_support.h"
#include "subprocess.h"

namespace mesh {
namespace {

using interop::ReadFile;
using interop::TempDir;
using interop::WriteFile;
using test_support::RunProcess;
using test_support::RunResult;

const std::string kUnits = std::string(SHARE_DIR) + "/systemd";

size_t ReplaceAll(std::string& text, const std::string& from, const std::string& to) {
  size_t n = 0;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
    ++n;
  }
  return n;
}

class SystemdUnits : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(interop::PeerInstalled(SYSTEMD_ANALYZE_BIN, "systemd-analyze (package systemd)"));
    std::filesystem::create_directories(dir_.File("man/man8"));
    for (const char* page : {"meshd.8", "meshproxy.8"}) {
      std::filesystem::copy_file(std::string(MAN_DIR) + "/" + page,
                                 dir_.File(std::string("man/man8/") + page));
    }
  }

  // The shipped unit with its installed binary path replaced by the build's, written to dir_.
  std::string Copy(const std::string& unit, const std::string& installed,
                   const std::string& built) {
    std::string text = ReadFile(kUnits + "/" + unit);
    EXPECT_EQ(ReplaceAll(text, "ExecStart=" + installed + " ", "ExecStart=" + built + " "), 1u)
        << unit << ": ExecStart is no longer " << installed;
    EXPECT_TRUE(WriteFile(dir_.File(unit), text));
    return text;
  }

  RunResult Verify(const std::vector<std::string>& units) {
    std::vector<std::string> argv = {SYSTEMD_ANALYZE_BIN, "verify"};
    for (const std::string& u : units) argv.push_back(dir_.File(u));
    return RunProcess(argv, "", {"MANPATH=" + dir_.File("man"), "SYSTEMD_LOG_COLOR=0"});
  }

  TempDir dir_;
};

// verify exits 0 even for unknown keys or bad values (it only warns): a clean unit is one that
// leaves stderr empty.
TEST_F(SystemdUnits, MeshdAndMeshproxyTemplateVerifyWithoutAWarning) {
  Copy("meshd.service", "/usr/local/bin/meshd", MESHD_BIN);
  Copy("meshproxy@.service", "/usr/local/bin/meshproxy", MESHPROXY_BIN);
  // The template is checked both as such and as an instance, %i expanded.
  const RunResult r = Verify({"meshd.service", "meshproxy@.service", "meshproxy@orders.service"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, "");
}

TEST_F(SystemdUnits, MeshproxyTemplateReadsItsInstancesConfigHardened) {
  const std::string unit = ReadFile(kUnits + "/meshproxy@.service");
  for (const char* line :
       {"ExecStart=/usr/local/bin/meshproxy --config /etc/mesh/meshproxy-%i.json\n", "User=mesh\n",
        "NoNewPrivileges=true\n", "ProtectSystem=strict\n", "ProtectHome=true\n",
        "PrivateTmp=true\n", "CapabilityBoundingSet=\n", "KillSignal=SIGTERM\n",
        "WantedBy=multi-user.target\n"}) {
    EXPECT_NE(unit.find(line), std::string::npos) << line;
  }
  // The flag the unit relies on exists.
  const RunResult help = RunProcess({MESHPROXY_BIN, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--config"), std::string::npos) << help.out;
}

// The check above can fail: a typo and a missing binary are both reported.
TEST_F(SystemdUnits, VerifyReportsATypoAndAMissingBinary) {
  std::string text = Copy("meshproxy@.service", "/usr/local/bin/meshproxy", MESHPROXY_BIN);
  ASSERT_EQ(ReplaceAll(text, "NoNewPrivileges=true", "NoNewPrivilege=true"), 1u);
  ASSERT_TRUE(WriteFile(dir_.File("meshproxy@.service"), text));
  RunResult r = Verify({"meshproxy@orders.service"});
  EXPECT_NE(r.err.find("Unknown key 'NoNewPrivilege'"), std::string::npos) << r.err;

  Copy("meshd.service", "/usr/local/bin/meshd", dir_.File("no-such-meshd"));
  r = Verify({"meshd.service"});
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("no-such-meshd"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mesh
