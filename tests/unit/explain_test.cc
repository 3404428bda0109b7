// SPDX-License-Identifier: GPL-2.0-or-later
#include <catch2/catch.hpp>

#include "explain/explain.h"
#include "ruleset/compile.h"
#include "ruleset/values.h"

using namespace ivozfw;
using explain::Packet;
using policy::Proto;

namespace {

const char* kPolicy = R"({
  "lists": { "admin": ["192.0.2.10", "2001:db8:a::/48"] },
  "services": {
    "sip": { "udp": [5060], "tcp": [5060] },
    "rtp": { "udp": ["13000-19000"] },
    "ssh": { "tcp": [22], "from": ["admin"] }
  },
  "geoip": { "database": "/nonexistent.mmdb", "mode": "deny", "countries": ["CN"] },
  "companies": { "source": "/nonexistent" },
  "antiflood": { "services": ["sip"] }
})";

net::Address addr(const char* s) { return *net::parse_address(s); }

// GeoIP guards sip here, so its UDP stays tracked unless the policy says otherwise.
std::string with_antiflood(const char* extra) {
    std::string s = kPolicy;
    const std::string from = "\"services\": [\"sip\"] }";
    return s.replace(s.find(from), from.size(), "\"services\": [\"sip\"], " + std::string(extra) + " }");
}

struct Fixture {
    policy::Policy p;
    ruleset::Table t;
    companies::Loaded co;
    explicit Fixture(const std::string& text = kPolicy) : p(policy::load_text(text, "p.json")) {
        ruleset::Sources src;
        src.geoip_drop = net::AddressSet{};
        src.geoip_drop->add(net::Family::v4, net::parse_prefix("203.0.113.0/24", nullptr)->range());
        src.geoip_drop->add(net::Family::v6, net::parse_prefix("2001:db8:c::/48", nullptr)->range());
        src.geoip_drop->normalize();
        companies::Company c;
        c.id = 42;
        c.name = "Acme";
        c.ranges.add(net::Family::v4, net::parse_prefix("203.0.113.16/28", nullptr)->range());
        c.ranges.normalize();
        co.companies[42] = c;
        src.companies = co.all();
        t = ruleset::compile(p, src);
    }
    explain::Result run(const char* src, Proto proto, uint16_t port, const ruleset::Table* live = nullptr,
                        const char* country = nullptr, bool forwarded = false) {
        explain::Context c;
        c.policy = &p;
        c.compiled = &t;
        c.live = live;
        c.companies = &co;
        if (country) c.country = country;
        return explain::explain(c, Packet{addr(src), proto, port, forwarded});
    }
};

}  // namespace

TEST_CASE("explain: port not exposed, from the services map") {
    Fixture f;
    auto r = f.run("198.51.100.5", Proto::tcp, 8000);
    CHECK_FALSE(r.accepted);
    CHECK(r.reason == "not_exposed");
    CHECK(r.counter == "drop_not_exposed");
    CHECK(r.decided_by == "not-exposed");
    CHECK(r.service.empty());
    CHECK_THAT(r.summary, Catch::Contains("port tcp/8000 is not exposed"));
    // the input chain is walked in order, dispatch before not-exposed
    REQUIRE(r.steps.size() >= 2);
    CHECK(r.steps[r.steps.size() - 2].rule == "dispatch");
    CHECK(r.steps.front().rule == "established");
}

TEST_CASE("explain: restricted service, from a list or not") {
    Fixture f;
    auto no = f.run("198.51.100.5", Proto::tcp, 22);
    CHECK_FALSE(no.accepted);
    CHECK(no.reason == "not_allowed");
    CHECK(no.service == "ssh");
    auto yes = f.run("192.0.2.10", Proto::tcp, 22);
    CHECK(yes.accepted);
    CHECK(yes.decided_by == "ssh/from-admin-v4");
    auto v6 = f.run("2001:db8:a::1", Proto::tcp, 22);
    CHECK(v6.accepted);
    CHECK(v6.decided_by == "ssh/from-admin-v6");
}

TEST_CASE("explain: GeoIP, company exemption, admin exemption") {
    Fixture f;
    auto cn = f.run("203.0.113.5", Proto::udp, 5060, nullptr, "CN");
    CHECK_FALSE(cn.accepted);
    CHECK(cn.reason == "geoip");
    CHECK_THAT(cn.summary, Catch::Contains("country CN") && Catch::Contains("geoip_v4"));
    auto cn6 = f.run("2001:db8:c::5", Proto::tcp, 5060);
    CHECK(cn6.reason == "geoip");
    auto company = f.run("203.0.113.20", Proto::udp, 5060);
    CHECK(company.accepted);
    CHECK(company.decided_by == "sip/company-v4");
    CHECK_THAT(company.summary, Catch::Contains("company 42 (Acme)"));
    auto es = f.run("198.51.100.5", Proto::udp, 5060);
    CHECK(es.accepted);
    CHECK(es.decided_by == "sip/accept");
    // rtp is public and GeoIP guards every public service
    CHECK(f.run("203.0.113.5", Proto::udp, 15000).reason == "geoip");
}

TEST_CASE("explain: anti-flood meters pass, the live ban set decides") {
    Fixture f;
    auto ok = f.run("198.51.100.7", Proto::udp, 5060);
    CHECK(ok.accepted);
    bool metered = false, capped = false, passed = false, untracked = false;
    for (const auto& s : ok.steps) {
        metered = metered || (s.rule == "sip/flood-v4" && s.chain == "flood_sip");
        // the aggregate cap (`limit rate over`) is a meter, never a drop of this packet
        capped = capped || (s.rule == "sip/cap" && !s.matched &&
                            s.text.find("5000/second burst 50000") != std::string::npos);
        passed = passed || (s.rule == "sip/to-input" && s.matched);
        untracked = untracked || s.rule == "sip/untracked";
    }
    CHECK_FALSE(untracked);   // GeoIP guards sip: tracked
    CHECK(metered);
    CHECK(capped);
    CHECK(passed);
    CHECK(ok.decided_by == "sip/accept");   // the input chain decides
    CHECK(ok.service == "sip");
    // an exempt source passes before conntrack, then the input chain accepts it
    auto admin = f.run("192.0.2.10", Proto::udp, 5060);
    CHECK(admin.accepted);
    CHECK(admin.steps.at(1).rule == "sip/exempt-v4");
    CHECK(admin.steps.at(1).chain == "flood_sip");
    // untracked (antiflood.conntrack_udp: false): a step of its own, and the input chain
    // knows the datagram has no conntrack state
    Fixture u(with_antiflood("\"conntrack_udp\": false"));
    auto un = u.run("198.51.100.7", Proto::udp, 5060);
    CHECK(un.accepted);
    bool step = false, states = false;
    for (const auto& s : un.steps) {
        step = step || (s.rule == "sip/untracked" && s.matched && s.text.find("fills no conntrack entry") != std::string::npos);
        states = states || (s.rule == "established" && s.text.find("untracked") != std::string::npos);
    }
    CHECK(step);
    CHECK(states);
    CHECK(u.run("192.0.2.10", Proto::udp, 5060).steps.at(2).rule == "sip/exempt-v4");
    // RTP: one miss in the dispatch map before conntrack, not the services map's words
    auto rtp = f.run("198.51.100.7", Proto::udp, 15000);
    CHECK(rtp.steps.front().chain == "prerouting");
    CHECK_THAT(rtp.steps.front().text, Catch::Contains("not metered before conntrack"));
    CHECK(rtp.service == "rtp");
    ruleset::Table live = f.t;
    ruleset::Element e;
    e.key = ruleset::be_bytes(addr("198.51.100.7").value, 4);
    e.set().expires_ms = 125000;
    e.set().comment = "manual";
    live.sets.at("ban_v4").elements.push_back(e);
    auto banned = f.run("198.51.100.7", Proto::udp, 5060, &live);
    CHECK_FALSE(banned.accepted);
    CHECK(banned.reason == "banned");
    CHECK(banned.live_sets);
    CHECK_THAT(banned.summary, Catch::Contains("2m5s") && Catch::Contains("ban_v4"));
    // UDP is dropped before conntrack, in the service's chain of the prerouting hook
    CHECK(banned.steps.back().chain == "flood_sip");
    CHECK(banned.steps.front().chain == "prerouting");
    CHECK(banned.decided_by == "sip/banned-v4");
    // TCP: nothing before conntrack (no prerouting line), the input chain's ban rule
    auto tcp = f.run("198.51.100.7", Proto::tcp, 5060, &live);
    CHECK(tcp.reason == "banned");
    CHECK(tcp.steps.front().rule == "established");
    CHECK(tcp.steps.back().chain == "svc_sip");
    // IPv6: banned by its /64
    ruleset::Element e6;
    e6.key = ruleset::be_bytes(addr("2001:db8:e::").value, 16);
    live.sets.at("ban_v6").elements.push_back(e6);
    CHECK(f.run("2001:db8:e::77", Proto::tcp, 5060, &live).reason == "banned");
    // the live GeoIP set decides, not the compiled one
    live.sets.at("geoip_v4").elements.clear();
    CHECK(f.run("203.0.113.5", Proto::udp, 5060, &live).accepted);
}

TEST_CASE("explain: a packet another table DNATs is judged in the forward chain, by the port it was sent to") {
    Fixture f;
    auto fwd = [&](const char* src, Proto proto, uint16_t port, const ruleset::Table* live = nullptr) {
        return f.run(src, proto, port, live, nullptr, true);
    };
    // not exposed: the forward chain's own drop, same reason and counter as input's
    auto no = fwd("198.51.100.5", Proto::tcp, 8080);
    CHECK_FALSE(no.accepted);
    CHECK(no.reason == "not_exposed");
    CHECK(no.counter == "drop_not_exposed");
    CHECK(no.decided_by == "forwarded-not-exposed");
    CHECK(no.steps.front().chain == "forward");
    CHECK_THAT(no.steps.front().text, Catch::Contains("forwarded") && Catch::Contains("tcp/8080"));
    for (const auto& s : no.steps) CHECK(s.chain != "input");
    // exposed: the service's chain decides, as for input (restriction, GeoIP, company)
    CHECK(fwd("198.51.100.5", Proto::tcp, 22).reason == "not_allowed");
    CHECK(fwd("192.0.2.10", Proto::tcp, 22).decided_by == "ssh/from-admin-v4");
    CHECK(fwd("203.0.113.5", Proto::tcp, 5060).reason == "geoip");
    CHECK(fwd("203.0.113.20", Proto::tcp, 5060).decided_by == "sip/company-v4");
    auto rtp = fwd("198.51.100.5", Proto::udp, 15000);
    CHECK(rtp.accepted);
    CHECK(rtp.service == "rtp");
    bool via_forward = false;
    for (const auto& s : rtp.steps) via_forward = via_forward || (s.chain == "forward" && s.rule == "forwarded-dispatch-udp");
    CHECK(via_forward);
    // a ban in the live set drops a forwarded TCP flow in the service chain
    ruleset::Table live = f.t;
    live.sets.at("ban_v4").elements.push_back(ruleset::Element{ruleset::be_bytes(addr("198.51.100.7").value, 4)});
    CHECK(fwd("198.51.100.7", Proto::tcp, 5060, &live).reason == "banned");
    // the same verdict as input for every case where both hooks apply
    for (const char* src : {"198.51.100.5", "192.0.2.10", "203.0.113.5", "203.0.113.20", "2001:db8:c::5"})
        for (auto [proto, port] : {std::pair{Proto::tcp, uint16_t(22)}, {Proto::tcp, uint16_t(5060)},
                                   {Proto::udp, uint16_t(5060)}, {Proto::udp, uint16_t(13000)}, {Proto::tcp, uint16_t(443)}}) {
            auto in = f.run(src, proto, port, &live);
            auto fw = fwd(src, proto, port, &live);
            INFO(src << " " << port);
            CHECK(in.accepted == fw.accepted);
            CHECK(in.reason == fw.reason);
        }
    // untracked before conntrack (antiflood.conntrack_udp: false): no table can DNAT it
    Fixture u(with_antiflood("\"conntrack_udp\": false"));
    auto un = u.run("198.51.100.7", Proto::udp, 5060, nullptr, nullptr, true);
    CHECK(un.accepted);
    CHECK(un.decided_by == "sip/accept");
    bool to_input = false;
    for (const auto& s : un.steps) to_input = to_input || (s.chain == "forward" && s.text.find("input chain") != std::string::npos);
    CHECK(to_input);
}

TEST_CASE("compile: the forward chain filters only new flows another table DNATed") {
    Fixture f;
    const auto& c = f.t.chains.at("forward");
    CHECK(c.hook == "forward");
    CHECK(c.policy == ruleset::Verdict::accept);   // routed traffic nobody DNATed is not ivozfw's
    REQUIRE(c.rules.size() == 3);
    for (const auto& r : c.rules) {
        const auto& m = std::get<ruleset::Match>(r.stmts.at(0));
        CHECK(m.sel == std::vector<ruleset::Selector>{ruleset::Selector::ct_status});
        CHECK(m.value == ruleset::host_u32(ruleset::ct_status_dnat));
    }
    const auto& v = std::get<ruleset::VmapLookup>(c.rules[0].stmts.back());
    CHECK(v.set == "services");
    CHECK(v.sel.back() == ruleset::Selector::ct_orig_dport);   // the port it was sent to, not the DNATed one
    CHECK(std::get<ruleset::Verdict>(c.rules[2].stmts.back()).kind == ruleset::Verdict::drop);
}

TEST_CASE("explain: PROTO/PORT parsing") {
    auto pp = explain::parse_proto_port("udp/5060");
    REQUIRE(pp);
    CHECK(pp->first == Proto::udp);
    CHECK(pp->second == 5060);
    CHECK_FALSE(explain::parse_proto_port("udp/0"));
    CHECK_FALSE(explain::parse_proto_port("sctp/5060"));
    CHECK_FALSE(explain::parse_proto_port("tcp/70000"));
    CHECK_FALSE(explain::parse_proto_port("5060"));
}
