#include "mesh/proxy/advertised_address.h"

#include <gtest/gtest.h>

namespace mesh {
namespace proxy_advertised_address_test {

// A host whose default route leaves from `v4` / `v6` ("": no such route); counts the asks.
class FakeRoute : public DefaultRouteAddress {
 public:
  FakeRoute(std::string v4, std::string v6) : v4_(std::move(v4)), v6_(std::move(v6)) {}
  Result<std::string> Lookup(bool ipv6) const override {
    ++asked;
    const std::string& address = ipv6 ? v6_ : v4_;
    if (address.empty()) return Status::NotFound("no default route (Network is unreachable)");
    return address;
  }
  mutable int asked = 0;

 private:
  std::string v4_, v6_;
};

TEST(AdvertisedAddress, IsTheListenAddressWhenItNamesOneInterface) {
  FakeRoute route("10.213.0.2", "fd00::2");
  Result<HostPort> a = AdvertisedAddress("", {"127.0.0.5", 15001}, 15001, route);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(FormatHostPort(*a), "127.0.0.5:15001");
  EXPECT_EQ(FormatHostPort(*AdvertisedAddress("", {"::1", 0}, 40000, route)), "[::1]:40000");
  EXPECT_EQ(route.asked, 0);
}

TEST(AdvertisedAddress, IsTheDefaultRoutesInterfaceForAWildcardListen) {
  FakeRoute route("10.213.0.2", "fd00::2");
  EXPECT_EQ(FormatHostPort(*AdvertisedAddress("", {"0.0.0.0", 15001}, 15001, route)),
            "10.213.0.2:15001");
  EXPECT_EQ(FormatHostPort(*AdvertisedAddress("", {"::", 0}, 41000, route)), "[fd00::2]:41000");
  EXPECT_EQ(route.asked, 2);
}

TEST(AdvertisedAddress, AsksForAdvertiseWhenAWildcardHostHasNoDefaultRoute) {
  FakeRoute route("", "");
  Result<HostPort> a = AdvertisedAddress("", {"0.0.0.0", 15001}, 15001, route);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kNotFound);
  EXPECT_NE(a.status().message().find("--advertise HOST:PORT"), std::string::npos)
      << a.status().message();
  EXPECT_NE(a.status().message().find("0.0.0.0:15001"), std::string::npos) << a.status().message();
}

TEST(AdvertisedAddress, TheFlagWinsAndItsPortZeroIsTheBoundPort) {
  FakeRoute route("", "");
  EXPECT_EQ(FormatHostPort(*AdvertisedAddress("192.0.2.7:8443", {"0.0.0.0", 15001}, 15001, route)),
            "192.0.2.7:8443");
  EXPECT_EQ(FormatHostPort(*AdvertisedAddress("[2001:db8::7]:0", {"::", 0}, 42000, route)),
            "[2001:db8::7]:42000");
  EXPECT_EQ(route.asked, 0);
}

TEST(AdvertisedAddress, RefusesAFlagOthersCannotDial) {
  FakeRoute route("10.213.0.2", "");
  for (const char* bad : {"0.0.0.0:15001", "[::]:15001", "mesh.example:15001", "10.0.0.5",
                          "10.0.0.5:x", "::1:15001", "[10.0.0.5]:1", ""}) {
    if (std::string(bad).empty()) continue;  // "": not given
    const Result<HostPort> a = AdvertisedAddress(bad, {"0.0.0.0", 15001}, 15001, route);
    EXPECT_EQ(a.status().code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(a.status().message().find("--advertise"), std::string::npos) << a.status().message();
  }
  EXPECT_EQ(route.asked, 0);
}

TEST(KernelDefaultRoute, AnswersAnAddressOrSaysThereIsNoRoute) {
  // Whatever this machine's routes: a numeric address of the family asked, or NotFound.
  for (const bool ipv6 : {false, true}) {
    const Result<std::string> local = KernelDefaultRoute().Lookup(ipv6);
    if (local.ok()) {
      EXPECT_TRUE(IsNumericHost(*local)) << *local;
      EXPECT_EQ(local->find(':') != std::string::npos, ipv6) << *local;
    } else {
      EXPECT_EQ(local.status().code(), Status::Code::kNotFound) << local.status().message();
    }
  }
}

}  // namespace proxy_advertised_address_test
}  // namespace mesh
