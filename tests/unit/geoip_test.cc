// SPDX-License-Identifier: GPL-2.0-or-later
// The tree walker against MaxMind's test databases, with their source JSON as the answers.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "geoip/mmdb.h"

using namespace ivozfw;

namespace {

const std::string kData = IVOZFW_SOURCE_DIR "/../shared/data/mmdb";

// The data ships in ../shared/data beside the checkout (CI has it too): missing data is a
// failure, never a silent pass.
void require_data(const std::string& path) {
    INFO("test data missing: " << path << " (expected ../shared/data beside the source tree)");
    REQUIRE(std::filesystem::exists(path));
}

// A source network as the writer stores it: "::a.b.c.d/N" is IPv4 a.b.c.d/(N-96), and host
// bits are dropped.
net::Prefix network_of(std::string text) {
    auto slash = text.find('/');
    unsigned len = std::stoi(text.substr(slash + 1));
    std::string addr = text.substr(0, slash);
    if (addr.rfind("::", 0) == 0 && addr.find('.') != std::string::npos) addr = addr.substr(2), len -= 96;
    auto a = net::parse_address(addr);
    REQUIRE(a);
    unsigned bits = net::bits(a->family);
    net::u128 mask = len == 0 ? 0 : ~net::u128{0} << (bits - len);
    a->value &= mask & net::max_value(a->family);
    return net::Prefix{*a, len};
}

// country -> its networks, from the JSON the database was written from.
std::map<std::string, net::AddressSet> expected(const std::string& json) {
    std::ifstream in(json);
    auto doc = nlohmann::json::parse(in);
    std::map<std::string, net::AddressSet> out;
    for (const auto& entry : doc)
        for (const auto& [network, rec] : entry.items()) {
            std::string cc;
            for (const char* k : {"country", "registered_country"})
                if (cc.empty() && rec.contains(k) && rec[k].contains("iso_code")) cc = rec[k]["iso_code"];
            if (cc.empty()) continue;
            out[cc].add(network_of(network));
        }
    for (auto& [cc, s] : out) s.normalize();
    return out;
}

}  // namespace

TEST_CASE("country databases: every country's networks are exactly the source's") {
    require_data(kData + "/maxmind-test");
    for (const char* name : {"GeoIP2-Country-Test", "GeoLite2-Country-Test"}) {
        auto want = expected(kData + "/maxmind-test/" + name + ".json");
        REQUIRE(want.size() > 5);
        for (const auto& [cc, nets] : want) {
            INFO(name << " " << cc);
            auto w = geoip::walk(kData + "/maxmind-test/" + name + ".mmdb", {cc});
            CHECK(w.matched.v4 == nets.v4);
            CHECK(w.matched.v6 == nets.v6);
            CHECK(w.info.schema == "country.iso_code");
        }
    }
}

TEST_CASE("aliases of the IPv4 subtree are skipped, IPv4 counted once") {
    require_data(kData + "/maxmind-test");
    for (const char* name : {"MaxMind-DB-test-mixed-24", "MaxMind-DB-test-mixed-32"}) {
        std::set<std::string> all;
        for (int i = 1; i <= 32; ++i) all.insert("::1.1.1." + std::to_string(i));
        auto w = geoip::walk(kData + "/maxmind-test/" + name + ".mmdb", all, "ip");
        INFO(name);
        CHECK(w.networks_v4 == 6);   // 1.1.1.1/32 .2/31 .4/30 .8/29 .16/28 .32/32
        REQUIRE(w.matched.v4.size() == 1);
        CHECK(net::format_range(net::Family::v4, w.matched.v4[0]) == "1.1.1.1-1.1.1.32");
        net::AddressSet aliases;
        std::string err;
        for (const char* a : {"::ffff:0:0/96", "2001::/32", "2002::/16"}) aliases.add(*net::parse_prefix(a, &err));
        aliases.normalize();
        CHECK(net::intersect(w.matched.v6, aliases.v6).empty());
    }
}

TEST_CASE("broken and corrupt databases are refused with the file named") {
    require_data(kData + "/maxmind-test");
    std::vector<std::string> bad;
    for (const auto& f : std::filesystem::directory_iterator(kData + "/maxmind-bad")) bad.push_back(f.path());
    for (const char* n : {"MaxMind-DB-test-broken-pointers-24", "MaxMind-DB-test-broken-search-tree-24",
                          "GeoIP2-City-Test-Invalid-Node-Count"})
        bad.push_back(kData + "/maxmind-test/" + n + ".mmdb");
    REQUIRE(bad.size() > 20);
    for (const auto& f : bad) {
        INFO(f);
        try {
            geoip::walk(f, {"US", "GB", "CN"});
            FAIL("accepted");
        } catch (const geoip::Error& e) {
            CHECK(std::string(e.what()).find(f) != std::string::npos);
        }
    }
    CHECK_THROWS_AS(geoip::walk(kData + "/does-not-exist.mmdb", {"US"}), geoip::Error);
}

TEST_CASE("the real database: ip-location-db schema, both families, minimal intervals") {
    std::string db = kData + "/real/geo-whois-asn-country.mmdb";
    require_data(db);
    auto w = geoip::walk(db, {"ES"});
    CHECK(w.info.schema == "country_code");
    CHECK(w.networks_v4 > 400000);
    CHECK(w.networks_v6 > 400000);
    for (const auto* l : {&w.matched.v4, &w.matched.v6})
        for (size_t i = 1; i < l->size(); ++i) REQUIRE((*l)[i].lo > (*l)[i - 1].hi + 1);   // disjoint, not adjacent
    CHECK(geoip::lookup(db, *net::parse_address("8.8.8.8")) == "US");
}
