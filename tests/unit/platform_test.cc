// SPDX-License-Identifier: GPL-2.0-or-later
// The platform section: policy reading, what compiles from the database's lists (carriers
// skip the meter on the trunks services only, never GeoIP), and explain naming the row an
// exemption came from. The database itself is tested for real in tests/kernel/platform_db.sh.
#include <catch2/catch.hpp>

#include "explain/explain.h"
#include "nft/netlink.h"
#include "platform/platform.h"
#include "policy/policy.h"
#include "policy_errors.h"
#include "ruleset/compile.h"
#include "ruleset/render.h"

using namespace ivozfw;
using test::errors_of;
using explain::Packet;
using policy::Proto;

namespace {

std::string policy_text(const std::string& extra = "") {
    return R"({
  "lists": {"admin": ["192.0.2.10"]},
  "services": {
    "sip": {"udp": [5060], "tcp": [5060]},
    "sip-trunks": {"udp": [7060], "tcp": [7060, 7061]},
    "web": {"tcp": [443]},
    "ssh": {"tcp": [22], "from": ["admin"]}
  },
  "geoip": {"database": "/nonexistent.mmdb", "countries": ["CN"]},
  "antiflood": {"services": ["sip", "sip-trunks"]},
  "platform": {"database": "mysql:/etc/ivozfw/ivozprovider.cnf"})" +
           extra + "\n}";
}

std::vector<std::string> ids(const ruleset::Chain& c) {
    std::vector<std::string> out;
    for (const auto& r : c.rules) out.push_back(r.id);
    return out;
}

net::Address addr(const char* s) { return *net::parse_address(s); }
net::Prefix prefix(const char* s) { return *net::parse_prefix(s, nullptr); }

// The policy with the database's rows merged into its lists, as build_desired does.
struct Fixture {
    policy::Policy p = policy::load_text(policy_text(), "p.json");
    platform::Loaded db;
    ruleset::Table t;
    Fixture() {
        db.application_servers.push_back({prefix("198.51.100.3"), "application server 3 (asterisk-1)"});
        db.application_servers.push_back({prefix("198.51.100.4"), "users proxy 1"});
        db.carriers.push_back({prefix("203.0.113.12"), "carrier address 12 (DDI provider 2)"});
        db.carriers.push_back({prefix("203.0.113.64/26"), "carrier address 13 (DDI provider 2)"});
        for (const char* l : {platform::kApplicationServers, platform::kCarriers}) {
            for (const auto& r : db.list(l)) p.lists[l].add(r.prefix);
            p.lists[l].normalize();
        }
        ruleset::Sources src;
        src.geoip_drop = net::AddressSet{};
        src.geoip_drop->add(prefix("203.0.113.64/27"));   // half of carrier 13 is in a dropped country
        src.geoip_drop->normalize();
        src.companies = net::AddressSet{};
        t = ruleset::compile(p, src);
        nft::annotate(t);
    }
    explain::Result run(const char* src, Proto proto, uint16_t port) {
        explain::Context c;
        c.policy = &p;
        c.compiled = &t;
        c.platform = &db;
        return explain::explain(c, Packet{addr(src), proto, port});
    }
};

}  // namespace

TEST_CASE("platform: the section, and the company ranges it brings") {
    auto p = policy::load_text(policy_text(), "p.json");
    REQUIRE(p.platform);
    CHECK(p.platform->database == "mysql:/etc/ivozfw/ivozprovider.cnf");
    CHECK(p.platform->max_remove_percent == 50);
    // company ranges come from it: the companies feature is on without a companies section
    REQUIRE(p.companies);
    CHECK(p.companies->source == "mysql:/etc/ivozfw/ivozprovider.cnf");
    CHECK_FALSE(p.companies->strict);
    CHECK(p.lists.count("carriers") == 1);
    // default carrier services: the metered sip-trunks*
    CHECK(p.antiflood->carrier_services == std::vector<std::string>{"sip-trunks"});

    auto strict = policy::load_text(policy_text(R"(, "companies": {"strict": true, "max_remove_percent": 10})"), "p");
    CHECK(strict.companies->strict);
    CHECK(strict.companies->source == "mysql:/etc/ivozfw/ivozprovider.cnf");
    CHECK(strict.companies->max_remove_percent == 10);
}

TEST_CASE("platform: errors name the JSON path") {
    CHECK(errors_of(policy_text(R"(, "companies": {"source": "/etc/ivozfw/companies.d"})")) ==
          std::vector<std::string>{"p.json: companies.source: error: the company ranges come from "
                                   "platform.database: remove one of the two"});
    auto bad = policy_text();
    bad.replace(bad.find("mysql:/etc"), 6, "");
    CHECK(errors_of(bad) == std::vector<std::string>{"p.json: platform.database: error: "
                                                     "\"/etc/ivozfw/ivozprovider.cnf\" is not \"mysql:<credentials file>\""});
    auto unknown = policy_text();
    unknown.replace(unknown.find("\"services\": [\"sip\", \"sip-trunks\"]"), 0, "\"carrier_services\": [\"sip-trunk\"], ");
    auto e = errors_of(unknown);
    REQUIRE(e.size() == 1);
    CHECK_THAT(e[0], Catch::StartsWith("p.json: antiflood.carrier_services[0]: error:"));
}

TEST_CASE("platform: carriers skip the meter on the trunks services only, never GeoIP") {
    Fixture f;
    CHECK(ids(f.t.chains.at("svc_sip-trunks")) ==
          std::vector<std::string>{"sip-trunks/exempt-v4", "sip-trunks/exempt-v6", "sip-trunks/company-v4",
                                   "sip-trunks/company-v6", "sip-trunks/carrier-v4", "sip-trunks/carrier-v6",
                                   "sip-trunks/banned-v4",
                                   "sip-trunks/banned-v6", "sip-trunks/tcp-rate-v4", "sip-trunks/tcp-conns-v4",
                                   "sip-trunks/tcp-rate-v6", "sip-trunks/tcp-conns-v6", "sip-trunks/tcp-cap",
                                   "sip-trunks/geoip-v4",
                                   "sip-trunks/geoip-v6", "sip-trunks/accept"});
    const auto& carrier = f.t.chains.at("svc_sip-trunks").rules.at(4);
    CHECK(ruleset::render_rule(carrier) ==
          "meta nfproto ipv4 ip saddr @carriers_v4 ip saddr != @geoip_v4 accept comment \"ivozfw:sip-trunks/carrier-v4\"");
    // before conntrack too: carriers skip the UDP meter and the cap, not GeoIP
    CHECK(ids(f.t.chains.at("flood_sip-trunks")) ==
          std::vector<std::string>{"sip-trunks/loopback", "sip-trunks/not-local", "sip-trunks/exempt-v4",
                                   "sip-trunks/exempt-v6", "sip-trunks/company-v4", "sip-trunks/company-v6",
                                   "sip-trunks/carrier-v4", "sip-trunks/carrier-v6", "sip-trunks/flood-v4",
                                   "sip-trunks/flood-v6", "sip-trunks/banned-v4", "sip-trunks/banned-v6",
                                   "sip-trunks/cap", "sip-trunks/to-input"});
    CHECK(ruleset::render_rule(f.t.chains.at("flood_sip-trunks").rules.at(6)) == ruleset::render_rule(carrier));
    // GeoIP filters the trunks' sources: an outbound carrier's answers must pass as
    // established, so its UDP stays tracked (no notrack, no output chain)
    CHECK_FALSE(f.t.chains.count("output"));
    for (const auto& r : f.t.chains.at("flood_sip").rules) CHECK_FALSE(r.id.find("carrier") != std::string::npos);
    for (const auto& r : f.t.chains.at("svc_sip").rules) CHECK_FALSE(r.id.find("carrier") != std::string::npos);
    // the database's rows are in the list sets, and the application servers in the exempt set
    CHECK(f.t.sets.at("carriers_v4").elements.size() == 2);
    CHECK(f.t.sets.at("application_servers_v4").elements.size() == 1);   // .3 and .4 merge into one interval
    CHECK(f.t.sets.at("exempt_v4").elements.size() == 2);                // admin + the two servers
}

TEST_CASE("platform: explain names the row an exemption came from") {
    Fixture f;
    auto as = f.run("198.51.100.3", Proto::udp, 5060);
    CHECK(as.accepted);
    CHECK(as.decided_by == "sip/exempt-v4");
    CHECK_THAT(as.summary, Catch::Contains("application server 3 (asterisk-1)"));
    CHECK_THAT(f.run("198.51.100.4", Proto::tcp, 5060).summary, Catch::Contains("users proxy 1"));

    auto carrier = f.run("203.0.113.12", Proto::udp, 7060);
    CHECK(carrier.accepted);
    CHECK(carrier.decided_by == "sip-trunks/carrier-v4");
    CHECK_THAT(carrier.summary, Catch::Contains("carrier address 12 (DDI provider 2)"));
    // on the users' SIP port a carrier is metered like anyone
    auto on_sip = f.run("203.0.113.12", Proto::udp, 5060);
    CHECK(on_sip.accepted);
    CHECK(on_sip.decided_by == "sip/accept");
    // a carrier address in a dropped country: the carrier rule does not match, GeoIP drops it
    auto dropped = f.run("203.0.113.70", Proto::udp, 7060);
    CHECK_FALSE(dropped.accepted);
    CHECK(dropped.reason == "geoip");
    auto other_half = f.run("203.0.113.100", Proto::udp, 7060);
    CHECK(other_half.decided_by == "sip-trunks/carrier-v4");
    CHECK_THAT(other_half.summary, Catch::Contains("carrier address 13"));
}

TEST_CASE("platform: a row's address is what Kamailio matches") {
    auto row = [](const char* ip, const char* mask, const char* text, std::string* note = nullptr) {
        std::string err, n;
        auto p = platform::row_address(ip, mask, text, &err, &n);
        if (note) *note = n;
        return p ? net::format_range(p->addr.family, p->range()) : "error: " + err;
    };
    std::string note;
    CHECK(row("203.0.113.7", "24", "203.0.113.7/24", &note) == "203.0.113.0/24");
    CHECK(note == "203.0.113.7/24 has host bits set: loaded as 203.0.113.0/24");
    CHECK(row("203.0.113.7", "32", "whatever the portal kept", &note) == "203.0.113.7");
    CHECK(note.empty());
    CHECK(row("203.0.113.7", nullptr, nullptr) == "203.0.113.7");        // mask NULL: one address
    CHECK(row(" 198.51.100.0 ", "24", nullptr) == "198.51.100.0/24");
    CHECK(row("203.0.113.7", "40", nullptr) == "error: \"203.0.113.7/40\": prefix length must be 0-32");
    CHECK(row("203.0.113.7", "-1", nullptr).starts_with("error: "));
    CHECK(row("not an ip", "32", "203.0.113.7") == "error: \"not an ip\" is not an IP address");
    // ip_addr NULL: source_address, host bits cleared too
    CHECK(row(nullptr, "32", "192.0.2.77/28", &note) == "192.0.2.64/28");
    CHECK(note == "192.0.2.77/28 has host bits set: loaded as 192.0.2.64/28");
    CHECK(row("", "32", "192.0.2.9") == "192.0.2.9");
    CHECK(row(nullptr, nullptr, nullptr) == "error: no address (ip_addr and source_address empty or NULL)");
    // IPv6: the mask column is the portal's IPv4 notion; one address unless source_address
    // holds a prefix around it
    CHECK(row("2001:db8::5", "32", "2001:db8::5") == "2001:db8::5");
    CHECK(row("2001:db8::5", "32", "2001:db8::/64") == "2001:db8::/64");
    CHECK(row("2001:db8::5", "32", "2001:db8:1::/64") == "2001:db8::5");   // not around it
    CHECK(row("2001:db8::5", "32", "garbage", &note) == "2001:db8::5");
    CHECK(note.empty());
    // one row may not open the firewall to the Internet
    CHECK(row("0.0.0.0", "0", nullptr) ==
          "error: 0.0.0.0/0 is wider than /8: refused, one row may not exempt that much of the Internet");
    CHECK(row("10.1.2.3", "7", nullptr).starts_with("error: 10.0.0.0/7 is wider than /8"));
    CHECK(row("10.1.2.3", "8", nullptr) == "10.0.0.0/8");
    CHECK(row(nullptr, nullptr, "2001:db8::/16").starts_with("error: 2001::/16 is wider than /32"));
}
