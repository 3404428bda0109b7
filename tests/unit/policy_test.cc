// SPDX-License-Identifier: GPL-2.0-or-later
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>

#include "policy/policy.h"
#include "policy_errors.h"

using namespace ivozfw;
using test::errors_of;
using policy::Diagnostic;
using policy::LoadError;

namespace {

std::vector<std::string> warnings_of(const std::string& text) {
    std::vector<Diagnostic> w;
    policy::load_text(text, "p.json", &w);
    std::vector<std::string> out;
    for (const auto& d : w) out.push_back(d.str());
    return out;
}

/// A small valid policy with `extra` spliced in as further top-level members.
std::string with(const std::string& extra) {
    return R"({ "lists": { "admin": ["192.0.2.10"] },
               "services": { "sip": { "udp": [5060], "tcp": [5060] },
                             "ssh": { "tcp": [22], "from": ["admin"] } })" +
           (extra.empty() ? "" : ", " + extra) + " }";
}

/// A temporary file holding `text` with permissions `mode`, removed on destruction.
struct TempFile {
    std::string path;
    TempFile(const std::string& text, mode_t mode) {
        char tmpl[] = "/tmp/ivozfw-policy-XXXXXX";
        int fd = mkstemp(tmpl);
        REQUIRE(fd >= 0);
        REQUIRE(write(fd, text.data(), text.size()) == ssize_t(text.size()));
        close(fd);
        path = tmpl;
        REQUIRE(chmod(tmpl, mode) == 0);
    }
    ~TempFile() { std::remove(path.c_str()); }
};

}  // namespace

TEST_CASE("a minimal policy loads with defaults") {
    auto p = policy::load_text(with(""), "p.json");
    CHECK(p.path == "p.json");
    CHECK(p.table == "ivozfw");
    REQUIRE(p.services.size() == 2);
    CHECK(p.services[0].name == "sip");  // file order, not alphabetical
    CHECK(p.services[0].udp == std::vector<policy::PortRange>{{5060, 5060}});
    CHECK(p.services[1].from == std::vector<std::string>{"admin"});
    for (const char* l : policy::kBuiltinLists) CHECK(p.lists.count(l) == 1);
    CHECK(p.lists.at("application_servers").empty());
    CHECK(p.lists.at("admin").contains(*net::parse_address("192.0.2.10")));
    CHECK_FALSE(p.geoip);
    CHECK_FALSE(p.antiflood);
    CHECK_FALSE(p.companies);
    CHECK(p.call_limit.max_media_flows_per_source == 0);
    CHECK(p.icmp.echo_rate == 10);
}

TEST_CASE("every section is read into typed values") {
    auto p = policy::load_text(with(R"(
        "table": "fw_1",
        "icmp": { "echo_rate": 5, "echo_burst": 7 },
        "geoip": { "database": "/db.mmdb", "mode": "allow", "countries": ["es", "PT"],
                   "services": ["sip"], "max_shrink_percent": 30, "field": "country.iso_code" },
        "antiflood": { "services": ["sip"], "rate": "20/minute", "burst": 3, "ban": "2h",
                       "tcp_new_connections": "7/hour", "max_connections_per_source": 0,
                       "ipv6_prefix": 56, "max_tracked_sources": 1000, "conntrack_udp": true },
        "companies": { "source": "mysql:/etc/ivozfw/db.cnf", "max_remove_percent": 10, "strict": true },
        "call_limit": { "max_media_flows_per_source": 40 })"), "p.json");
    CHECK(p.table == "fw_1");
    CHECK(p.icmp.echo_rate == 5);
    CHECK(p.icmp.echo_burst == 7);
    REQUIRE(p.geoip);
    CHECK(p.geoip->mode == policy::GeoIP::Mode::allow);
    CHECK(p.geoip->countries == std::vector<std::string>{"ES", "PT"});
    CHECK(p.geoip->services == std::vector<std::string>{"sip"});
    CHECK(p.geoip->max_shrink_percent == 30);
    CHECK(p.geoip->field == "country.iso_code");
    REQUIRE(p.antiflood);
    CHECK(p.antiflood->rate == 20);
    CHECK(p.antiflood->rate_unit_s == 60);
    CHECK(p.antiflood->burst == 3);
    CHECK(p.antiflood->ban_s == 7200);
    CHECK(p.antiflood->conntrack_udp);
    CHECK(p.antiflood->tcp_new_rate == 7);
    CHECK(p.antiflood->tcp_new_unit_s == 3600);
    CHECK(p.antiflood->max_connections_per_source == 0);
    CHECK(p.antiflood->ipv6_prefix == 56);
    CHECK(p.antiflood->max_tracked_sources == 1000);
    REQUIRE(p.companies);
    CHECK(p.companies->source == "mysql:/etc/ivozfw/db.cnf");
    CHECK(p.companies->max_remove_percent == 10);
    CHECK(p.companies->strict);
    CHECK(p.call_limit.max_media_flows_per_source == 40);
}

TEST_CASE("port ranges and comments are accepted") {
    auto p = policy::load_text(R"(
        // a line comment
        { /* a block comment */ "services": { "rtp": { "udp": ["13000-19000", "5-5", 1, 65535] } } })",
                               "p.json");
    REQUIRE(p.services.size() == 1);
    CHECK(p.services[0].udp ==
          std::vector<policy::PortRange>{{13000, 19000}, {5, 5}, {1, 1}, {65535, 65535}});
}

TEST_CASE("policy errors name the file and the JSON path") {
    struct Case {
        const char* name;
        std::string text;
        std::vector<std::string> errors;
    };
    auto c = GENERATE(values<Case>({
        // syntax
        {"syntax error line:col", "{\n  \"table\": \"ivozfw\",\n  \"lists\": x\n}",
         {"p.json:3:12: error: syntax error while parsing value - invalid literal; last read: '\"lists\": x'"}},
        {"trailing comma", "{\n  \"table\": \"ivozfw\",\n}",
         {"p.json:3:1: error: syntax error while parsing object key - unexpected '}'; expected string literal"}},
        {"empty document", "",
         {"p.json:1:1: error: syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal"}},
        {"top level not an object", "[]", {"p.json: error: expected an object, got array"}},
        // duplicate keys, at any depth
        {"duplicate top-level key", R"({"table": "a", "table": "b"})",
         {"p.json: error: duplicate key \"table\""}},
        {"duplicate service names", R"({"services": {"sip": {"udp": [1]}, "sip": {"udp": [2]}}})",
         {"p.json: services: error: duplicate key \"sip\""}},
        {"duplicate nested key",
         R"({"lists": {"x": []}, "services": {"a": {"tcp": [1]}, "b": {"tcp": [2], "tcp": [3]}}})",
         {"p.json: services.b: error: duplicate key \"tcp\""}},
        {"duplicate key inside an array",
         R"({"lists": {"admin": ["192.0.2.1", {"k": 1, "k": 2}]}})",
         {"p.json: lists.admin[1]: error: duplicate key \"k\"",
          "p.json: lists.admin[1]: error: expected a string, got object"}},
        // types
        {"table not a string", with(R"("table": 5)"), {"p.json: table: error: expected a string, got number 5"}},
        {"bad table name", with(R"("table": "Fw")"),
         {"p.json: table: error: \"Fw\" is not a valid table name ([a-z][a-z0-9_], at most 31 characters)"}},
        {"services not an object", R"({"services": []})", {"p.json: services: error: expected an object, got array"}},
        {"list not an array", R"({"lists": {"admin": "192.0.2.1"}})",
         {"p.json: lists.admin: error: expected an array, got string \"192.0.2.1\""}},
        {"list entry not a string", R"({"lists": {"admin": [17]}})",
         {"p.json: lists.admin[0]: error: expected a string, got number 17"}},
        // the parser takes list entries aside: positions must survive entries that are not strings
        {"list entries of every kind",
         R"({"lists": {"admin": ["192.0.2.1", null, ["192.0.2.2"], "1.2.3", {"a": 1}, "192.0.2.1/32"], "ops": [true]}})",
         {"p.json: lists.admin[1]: error: expected a string, got null",
          "p.json: lists.admin[2]: error: expected a string, got array",
          "p.json: lists.admin[3]: error: \"1.2.3\" is not an IP address or CIDR prefix",
          "p.json: lists.admin[4]: error: expected a string, got object",
          "p.json: lists.ops[0]: error: expected a string, got boolean true"}},
        {"a list given twice", R"({"lists": {"admin": [1], "admin": ["x"]}})",
         {"p.json: lists: error: duplicate key \"admin\"",
          "p.json: lists.admin[0]: error: \"x\" is not an IP address or CIDR prefix"}},
        {"integer expected", with(R"("call_limit": {"max_media_flows_per_source": 1.5})"),
         {"p.json: call_limit.max_media_flows_per_source: error: expected an integer, got number 1.5"}},
        {"bool expected", with(R"("companies": {"source": "/x", "strict": "yes"})"),
         {"p.json: companies.strict: error: expected true or false, got string \"yes\""}},
        {"conntrack_udp not a bool", with(R"("antiflood": {"conntrack_udp": 1})"),
         {"p.json: antiflood.conntrack_udp: error: expected true or false, got number 1"}},
        // ports
        {"port 70000", R"({"services": {"sip": {"udp": [5060, 5061, 70000]}}})",
         {"p.json: services.sip.udp[2]: error: 70000 is not a port (1-65535)"}},
        {"port 0", R"({"services": {"sip": {"tcp": [0]}}})",
         {"p.json: services.sip.tcp[0]: error: 0 is not a port (1-65535)"}},
        {"negative port", R"({"services": {"sip": {"tcp": [-1]}}})",
         {"p.json: services.sip.tcp[0]: error: -1 is not a port (1-65535)"}},
        {"reversed range", R"({"services": {"rtp": {"udp": ["19000-13000"]}}})",
         {"p.json: services.rtp.udp[0]: error: \"19000-13000\" is a reversed range: did you mean \"13000-19000\"?"}},
        {"range past 65535", R"({"services": {"rtp": {"udp": ["13000-90000"]}}})",
         {"p.json: services.rtp.udp[0]: error: \"13000-90000\": 90000 is not a port (1-65535)"}},
        {"malformed range", R"({"services": {"rtp": {"udp": ["13000:19000"]}}})",
         {"p.json: services.rtp.udp[0]: error: \"13000:19000\" is not a port range (\"lo-hi\", e.g. \"13000-19000\")"}},
        {"port of the wrong type", R"({"services": {"rtp": {"udp": [true]}}})",
         {"p.json: services.rtp.udp[0]: error: expected a port or a \"lo-hi\" range, got boolean true"}},
        {"service without ports", R"({"services": {"x": {"tcp": []}}})",
         {"p.json: services.x: error: no ports: give \"tcp\" and/or \"udp\""}},
        {"bad service name", R"({"services": {"SIP_1": {"tcp": [1]}}})",
         {"p.json: services.SIP_1: error: invalid service name: use [a-z][a-z0-9-], at most 25 characters"}},
        {"bad list name", R"({"lists": {"my-list": []}})",
         {"p.json: lists.my-list: error: invalid list name: use [a-z][a-z0-9_], at most 25 characters"}},
        // overlaps between services
        {"same port in two services", R"({"services": {"sip": {"udp": [5060]}, "trunks": {"udp": [7060, 5060]}}})",
         {"p.json: services.trunks.udp[1]: error: udp port 5060 is claimed by both \"sip\" and \"trunks\""}},
        {"overlapping ranges", R"({"services": {"rtp": {"udp": ["13000-19000"]}, "x": {"udp": ["18000-20000"]}}})",
         {"p.json: services.x.udp[0]: error: udp ports 18000-19000 are claimed by both \"rtp\" and \"x\""}},
        {"range covering a port", R"({"services": {"a": {"tcp": [8080]}, "b": {"tcp": ["8000-9000"]}}})",
         {"p.json: services.a.tcp[0]: error: tcp port 8080 is claimed by both \"b\" and \"a\""}},
        // references
        {"undefined list", R"({"services": {"x": {"tcp": [1], "from": ["admn"]}}})",
         {"p.json: services.x.from[0]: error: undefined list \"admn\", did you mean \"admin\"?"}},
        {"undefined list, nothing close", R"({"services": {"x": {"tcp": [1], "from": ["office"]}}})",
         {"p.json: services.x.from[0]: error: undefined list \"office\""}},
        {"empty from", R"({"services": {"x": {"tcp": [1], "from": []}}})",
         {"p.json: services.x.from: error: must name at least one list (leave \"from\" out to allow everyone)"}},
        {"undefined service in antiflood", with(R"("antiflood": {"services": ["sipp"]})"),
         {"p.json: antiflood.services[0]: error: undefined service \"sipp\", did you mean \"sip\"?"}},
        // unknown keys
        {"unknown top-level key", with(R"("geoipp": {})"),
         {"p.json: geoipp: error: unknown key, did you mean \"geoip\"?"}},
        {"unknown service key", R"({"services": {"sip": {"udp": [1], "port": [2]}}})",
         {"p.json: services.sip.port: error: unknown key (expected one of: tcp udp from)"}},
        {"unknown nested key", with(R"("antiflood": {"rates": "5/second"})"),
         {"p.json: antiflood.rates: error: unknown key, did you mean \"rate\"?"}},
        // address lists
        {"bad address", R"({"lists": {"admin": ["192.0.2.1", "1.2.3"]}})",
         {"p.json: lists.admin[1]: error: \"1.2.3\" is not an IP address or CIDR prefix"}},
        {"host bits set", R"({"lists": {"admin": ["198.51.100.7/24"]}})",
         {"p.json: lists.admin[0]: error: 198.51.100.7/24 has host bits set: did you mean 198.51.100.0/24?"}},
        {"v6 prefix too long", R"({"lists": {"x": ["2001:db8::/129"]}})",
         {"p.json: lists.x[0]: error: \"2001:db8::/129\": prefix length must be 0-128"}},
        // geoip
        {"geoip without database", with(R"("geoip": {"countries": ["KP"]})"),
         {"p.json: geoip: error: missing required key \"database\""}},
        {"geoip without countries", with(R"("geoip": {"database": "/x"})"),
         {"p.json: geoip: error: missing required key \"countries\""}},
        {"geoip empty countries", with(R"("geoip": {"database": "/x", "countries": []})"),
         {"p.json: geoip.countries: error: must list at least one country"}},
        {"unassigned country", with(R"("geoip": {"database": "/x", "countries": ["KP", "XX", "E"]})"),
         {"p.json: geoip.countries[1]: error: \"XX\" is not an ISO 3166-1 alpha-2 country code",
          "p.json: geoip.countries[2]: error: \"E\" is not an ISO 3166-1 alpha-2 country code"}},
        {"geoip mode", with(R"("geoip": {"database": "/x", "countries": ["KP"], "mode": "block"})"),
         {"p.json: geoip.mode: error: \"block\" is not \"deny\" or \"allow\""}},
        {"percent out of range", with(R"("geoip": {"database": "/x", "countries": ["KP"], "max_shrink_percent": 101})"),
         {"p.json: geoip.max_shrink_percent: error: 101 is out of range (0-100)"}},
        // antiflood
        {"bad rate", with(R"("antiflood": {"rate": "50/sec"})"),
         {"p.json: antiflood.rate: error: \"50/sec\" is not a rate (\"N/second\", \"N/minute\" or \"N/hour\")"}},
        {"zero rate", with(R"("antiflood": {"tcp_new_connections": "0/second"})"),
         {"p.json: antiflood.tcp_new_connections: error: \"0/second\": the rate must be at least 1"}},
        {"bad duration", with(R"("antiflood": {"ban": "5 minutes"})"),
         {"p.json: antiflood.ban: error: \"5 minutes\" is not a duration (e.g. \"300s\", \"5m\", \"1h\", \"1d\")"}},
        {"duration out of range", with(R"("antiflood": {"ban": "0s"})"),
         {"p.json: antiflood.ban: error: \"0s\" is out of range (1s-365d)"}},
        {"ipv6 prefix", with(R"("antiflood": {"ipv6_prefix": 0})"),
         {"p.json: antiflood.ipv6_prefix: error: 0 is out of range (1-128)"}},
        {"tracked sources", with(R"("antiflood": {"max_tracked_sources": 16777217})"),
         {"p.json: antiflood.max_tracked_sources: error: 16777217 is out of range (1-16777216)"}},
        {"negative count", with(R"("call_limit": {"max_media_flows_per_source": -1})"),
         {"p.json: call_limit.max_media_flows_per_source: error: -1 is out of range (0-4294967295)"}},
        // companies
        {"companies without source", with(R"("companies": {"strict": true})"),
         {"p.json: companies: error: missing required key \"source\""}},
        {"empty source", with(R"("companies": {"source": ""})"),
         {"p.json: companies.source: error: must not be empty"}},
        // several at once: all are reported
        {"errors are collected", R"({"table": 1, "services": {"a": {"udp": [0, 70000]}}, "icmp": {"echo": 1}})",
         {"p.json: table: error: expected a string, got number 1",
          "p.json: services.a.udp[0]: error: 0 is not a port (1-65535)",
          "p.json: services.a.udp[1]: error: 70000 is not a port (1-65535)",
          "p.json: icmp.echo: error: unknown key (expected one of: echo_rate echo_burst)"}},
    }));
    CAPTURE(c.name, c.text);
    CHECK(errors_of(c.text) == c.errors);
}

TEST_CASE("LoadError::what lists every diagnostic, one per line") {
    try {
        policy::load_text(R"({"table": 1, "icmp": 2})", "p.json");
        FAIL("no error");
    } catch (const LoadError& e) {
        CHECK(std::string(e.what()) ==
              "p.json: table: error: expected a string, got number 1\n"
              "p.json: icmp: error: expected an object, got number 2");
    }
}

TEST_CASE("warnings do not stop loading") {
    struct Case {
        const char* name;
        std::string text;
        std::vector<std::string> warnings;
    };
    auto c = GENERATE(values<Case>({
        {"lockout", R"({"services": {"ssh": {"tcp": [22], "from": ["admin"]}}})",
         {"p.json: services.ssh: warning: only reachable from empty list(s) admin: you will lock yourself out of ssh"}},
        {"lockout, two lists",
         R"({"lists": {"ops": []}, "services": {"ssh": {"tcp": [22], "from": ["admin", "ops"]}}})",
         {"p.json: services.ssh: warning: only reachable from empty list(s) admin, ops: you will lock yourself out of ssh"}},
        {"one non-empty list is enough",
         R"({"lists": {"ops": ["192.0.2.1"]}, "services": {"ssh": {"tcp": [22], "from": ["admin", "ops"]}}})",
         {}},
        {"duplicate list entry", R"({"lists": {"admin": ["192.0.2.10", "2001:db8::1", "192.0.2.10/32"]}})",
         {"p.json: lists.admin[2]: warning: duplicate entry \"192.0.2.10/32\""}},
        {"duplicate country", with(R"("geoip": {"database": "/x", "countries": ["KP", "kp"]})"),
         {"p.json: geoip.countries[1]: warning: country \"KP\" is listed twice"}},
        {"port twice in one service", R"({"services": {"sip": {"udp": [5060, 5060]}}})",
         {"p.json: services.sip.udp[1]: warning: udp port 5060 is listed twice (the service holds it once)"}},
        {"a list no service uses (a typo)",
         R"({"lists": {"application_jervers": ["192.0.2.5"]}, "services": {"sip": {"udp": [5060]}}})",
         {"p.json: lists.application_jervers: warning: no service uses this list (\"from\") and ivozfw gives it no "
          "meaning of its own: it filters nothing, did you mean \"application_servers\"?"}},
        {"an IPv4-mapped address", R"({"lists": {"admin": ["::ffff:192.0.2.1"]}})",
         {"p.json: lists.admin[0]: warning: \"::ffff:192.0.2.1\" is an IPv4-mapped IPv6 address: IPv4 packets never "
          "match it; write the IPv4 address"}},
        {"every address", R"({"lists": {"admin": ["0.0.0.0/0"]}})",
         {"p.json: lists.admin[0]: warning: \"0.0.0.0/0\" is every address: whatever this list allows or exempts, it "
          "does for the whole Internet"}},
    }));
    CAPTURE(c.name);
    CHECK(warnings_of(c.text) == c.warnings);
}

TEST_CASE("ports the kernel would hold differently are normalized: one range per overlap") {
    auto p = policy::load_text(R"({"services": {
        "web": {"tcp": [443, 80, 443, 80]},
        "rtp": {"udp": ["13000-19000", 15000, "18000-20000", 12000]},
        "trunks": {"tcp": [7060, "7060-7061"]}}})", "p.json");
    auto ports = [&](const char* svc, bool tcp) {
        std::vector<std::pair<int, int>> out;
        for (const auto& s : p.services)
            if (s.name == svc)
                for (const auto& r : tcp ? s.tcp : s.udp) out.push_back({r.lo, r.hi});
        return out;
    };
    CHECK(ports("web", true) == std::vector<std::pair<int, int>>{{443, 443}, {80, 80}});   // order kept
    CHECK(ports("rtp", false) == std::vector<std::pair<int, int>>{{13000, 20000}, {12000, 12000}});
    CHECK(ports("trunks", true) == std::vector<std::pair<int, int>>{{7060, 7061}});
    // a burst of 0, which the kernel would store as 5, is refused
    CHECK(errors_of(R"({"icmp": {"echo_burst": 0}})") ==
          std::vector<std::string>{"p.json: icmp.echo_burst: error: 0 is out of range (1-1000000)"});
}

TEST_CASE("load_file checks the file before parsing it") {
    SECTION("missing file") {
        try {
            policy::load_file("/nonexistent/policy.json");
            FAIL("no error");
        } catch (const LoadError& e) {
            CHECK(std::string(e.what()) ==
                  "/nonexistent/policy.json: error: cannot read: No such file or directory");
        }
    }
    SECTION("world-writable file") {
        TempFile f(with(""), 0666);
        try {
            policy::load_file(f.path);
            FAIL("no error");
        } catch (const LoadError& e) {
            CHECK(std::string(e.what()) ==
                  f.path + ": error: is world-writable; refusing to load (chmod o-w)");
        }
    }
    SECTION("writable by a group other than root's") {
        TempFile f(with(""), 0664);
        REQUIRE(chown(f.path.c_str(), -1, 65534) == 0);   // nogroup
        try {
            policy::load_file(f.path);
            FAIL("no error");
        } catch (const LoadError& e) {
            CHECK(std::string(e.what()) ==
                  f.path + ": error: is writable by group 65534; refusing to load (chmod g-w, or chgrp root)");
        }
        REQUIRE(chown(f.path.c_str(), -1, 0) == 0);   // root's group: fine
        CHECK_NOTHROW(policy::load_file(f.path));
    }
    SECTION("errors name the file") {
        TempFile f("{\"table\": 1}", 0644);
        try {
            policy::load_file(f.path);
            FAIL("no error");
        } catch (const LoadError& e) {
            CHECK(std::string(e.what()) == f.path + ": table: error: expected a string, got number 1");
        }
    }
    SECTION("a good file") {
        TempFile f(with(""), 0640);
        auto p = policy::load_file(f.path);
        CHECK(p.path == f.path);
        CHECK(p.services.size() == 2);
    }
}

TEST_CASE("the shipped policies load without errors or warnings") {
    auto file = GENERATE(as<std::string>{}, "rules/ivozprovider.json", "rules/examples/proxy-only.json",
                         "rules/examples/portal-only.json", "rules/examples/media-relay-only.json");
    CAPTURE(file);
    std::vector<Diagnostic> warnings;
    std::ifstream in(std::string(IVOZFW_SOURCE_DIR) + "/" + file);
    REQUIRE(in);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    policy::Policy p;
    try {
        p = policy::load_text(text, file, &warnings);
    } catch (const LoadError& e) {
        FAIL(e.what());
    }
    CHECK(warnings.empty());
    CHECK(p.table == "ivozfw");
    CHECK_FALSE(p.lists.at("admin").empty());
}

TEST_CASE("the all-in-one policy exposes the IvozProvider ports") {
    std::ifstream in(std::string(IVOZFW_SOURCE_DIR) + "/rules/ivozprovider.json");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    auto p = policy::load_text(text, "ivozprovider.json");
    std::vector<std::string> names;
    for (const auto& s : p.services) names.push_back(s.name);
    CHECK(names == std::vector<std::string>{"sip", "sip-tls", "sip-trunks", "sip-ws", "rtp", "web",
                                            "provisioning", "ssh"});
    CHECK(p.services[4].udp == std::vector<policy::PortRange>{{13000, 19000}});
    CHECK(p.services[7].from == std::vector<std::string>{"admin"});
    REQUIRE(p.antiflood);
    CHECK(p.antiflood->ban_s == 300);
    CHECK_FALSE(p.geoip);
}
