// SPDX-License-Identifier: GPL-2.0-or-later
// Anti-flood compile output: objects, rule order in a guarded service chain, the nft text
// export renders, and the kernel expressions annotate computes (what plan compares).
#include <catch2/catch.hpp>

#include "nft/netlink.h"
#include "plan/plan.h"
#include "policy/policy.h"
#include "ruleset/antiflood.h"
#include "ruleset/compile.h"
#include "ruleset/render.h"
#include "ruleset/values.h"

using namespace ivozfw;
using namespace ivozfw::ruleset;

namespace {

const char* kPolicy = R"({
  "lists": {"admin": ["192.0.2.10"], "application_servers": ["203.0.113.5"], "antiflood_trusted": []},
  "services": {
    "sip": {"udp": [5060], "tcp": [5060]},
    "sip-trunks": {"udp": [7060], "tcp": [7060]},
    "sip-ws": {"tcp": [10080]},
    "rtp": {"udp": ["13000-19000"]},
    "web": {"tcp": [443]},
    "ssh": {"tcp": [22], "from": ["admin"]}
  },
  "antiflood": {"services": ["sip", "sip-trunks", "sip-ws"], "rate": "50/second", "burst": 100,
                "ban": "300s", "tcp_new_connections": "10/second", "max_connections_per_source": 64,
                "ipv6_prefix": 64, "max_tracked_sources": 262144},
  "call_limit": {"max_media_flows_per_source": 200}
})";

Table compiled(const std::string& text = kPolicy) {
    auto t = compile(policy::load_text(text, "test.json"));
    nft::annotate(t);
    return t;
}

std::vector<std::string> ids(const Chain& c) {
    std::vector<std::string> out;
    for (const auto& r : c.rules) out.push_back(r.id);
    return out;
}

const Rule& rule(const Table& t, const std::string& chain, const std::string& id) {
    for (const auto& r : t.chains.at(chain).rules)
        if (r.id == id) return r;
    FAIL("no rule " << id << " in " << chain);
    throw;
}

}  // namespace

TEST_CASE("antiflood: dynamic sets sized from the policy, counters per reason") {
    auto t = compiled();
    for (const char* base : {names::flood, names::ban, names::tcpnew, names::connlimit, names::media})
        for (bool v6 : {false, true}) {
            const auto& s = t.sets.at(names::list_set(base, v6));
            CHECK(s.dynamic);
            CHECK_FALSE(s.interval);
            CHECK(s.size == 262144);
            CHECK(s.key == std::vector<KeyType>{v6 ? KeyType::ipv6_addr : KeyType::ipv4_addr});
        }
    CHECK(t.sets.at("ban_v4").timeout);
    CHECK(t.sets.at("ban_v4").timeout_ms == 300000);
    CHECK(t.sets.at("flood_v6").timeout);
    CHECK(t.sets.at("flood_v6").timeout_ms == 60000);
    // ct count in a set: no timeout flag (the kernel refuses it)
    CHECK_FALSE(t.sets.at("connlimit_v4").timeout);
    CHECK_FALSE(t.sets.at("media_v6").timeout);
    for (const char* c : {"drop_flood", "drop_banned", "drop_conn_limit", "drop_call_limit", "drop_service_cap"})
        CHECK(t.counters.count(c));
    // the metered UDP ports (not the RTP range) go to their service's chain before conntrack:
    // a hash map of single ports
    const auto& ports = t.sets.at(names::flood_udp);
    CHECK(ports.verdict_map);
    CHECK_FALSE(ports.interval);
    CHECK(ports.key == std::vector<KeyType>{KeyType::inet_service});
    REQUIRE(ports.elements.size() == 2);
    CHECK(ports.elements[0].key == Bytes{0x13, 0xc4});  // 5060
    CHECK(*ports.elements[0].verdict() == Verdict{Verdict::goto_, "flood_sip"});
    CHECK(ports.elements[1].key == Bytes{0x1b, 0x94});  // 7060
    CHECK(*ports.elements[1].verdict() == Verdict{Verdict::goto_, "flood_sip-trunks"});
    const auto& pre = t.chains.at(names::prerouting);
    CHECK(pre.hook == "prerouting");
    CHECK(pre.priority == -300);   // raw: before conntrack (-200)
    CHECK(pre.policy == Verdict::accept);
    // created after the chains it jumps to, before input
    auto pos = [&](const std::string& n) { return std::find(t.chain_order.begin(), t.chain_order.end(), n) - t.chain_order.begin(); };
    CHECK(pos("flood_sip") < pos("prerouting"));
    CHECK(pos("prerouting") < pos("input"));
    CHECK_FALSE(t.chains.count("flood_sip-ws"));   // TCP only: nothing before conntrack
    CHECK_FALSE(t.chains.count("flood_rtp"));      // media range: never metered per packet
}

TEST_CASE("antiflood: the cap per service, from the policy") {
    auto t = compiled(std::string(kPolicy).replace(std::string(kPolicy).find("\"max_tracked_sources\""), 0,
                                                   "\"service_rate\": \"300/minute\", \"service_burst\": 7, "));
    CHECK(render_rule(rule(t, "flood_sip-trunks", "sip-trunks/cap")) ==
          "limit rate over 300/minute burst 7 packets counter name \"drop_service_cap\" drop comment \"ivozfw:sip-trunks/cap\"");
    auto d = compiled();
    CHECK(render_rule(rule(d, "flood_sip", "sip/cap")) ==
          "limit rate over 5000/second burst 50000 packets counter name \"drop_service_cap\" drop comment \"ivozfw:sip/cap\"");
}

TEST_CASE("antiflood: the cap on new TCP connections per service, from the policy") {
    auto d = compiled();
    CHECK(render_rule(rule(d, "svc_sip-ws", "sip-ws/tcp-cap")) ==
          "meta l4proto tcp limit rate over 500/second burst 500 packets counter name \"drop_conn_cap\" drop "
          "comment \"ivozfw:sip-ws/tcp-cap\"");
    CHECK(d.counters.count("drop_conn_cap"));
    auto t = compiled(std::string(kPolicy).replace(std::string(kPolicy).find("\"max_tracked_sources\""), 0,
                                                   "\"service_new_connections\": \"90/minute\", "));
    CHECK(render_rule(rule(t, "svc_sip", "sip/tcp-cap")) ==
          "meta l4proto tcp limit rate over 90/minute burst 90 packets counter name \"drop_conn_cap\" drop "
          "comment \"ivozfw:sip/tcp-cap\"");
    // a UDP-only service has no TCP cap
    CHECK_FALSE(std::any_of(t.chains.at("svc_rtp").rules.begin(), t.chains.at("svc_rtp").rules.end(),
                            [](const Rule& r) { return r.id.ends_with("tcp-cap"); }));
}

TEST_CASE("antiflood: order in a metered chain: exemptions, flood meter, ban, TCP limits, accept") {
    auto t = compiled();
    // before conntrack: not ours, untracked, exemptions, the per-source meter, bans, the
    // service's cap
    CHECK(ids(t.chains.at("flood_sip")) ==
          std::vector<std::string>{"sip/loopback", "sip/not-local", "sip/untracked", "sip/exempt-v4",
                                   "sip/exempt-v6", "sip/flood-v4", "sip/flood-v6", "sip/banned-v4",
                                   "sip/banned-v6", "sip/cap", "sip/to-input"});
    // after conntrack (new flows): bans (TCP) and the TCP limits; the UDP meter is gone
    CHECK(ids(t.chains.at("svc_sip")) ==
          std::vector<std::string>{"sip/exempt-v4", "sip/exempt-v6", "sip/banned-v4", "sip/banned-v6",
                                   "sip/tcp-rate-v4", "sip/tcp-conns-v4", "sip/tcp-rate-v6", "sip/tcp-conns-v6",
                                   "sip/tcp-cap", "sip/accept"});
    // TCP only: no packet meter, but bans and TCP limits
    CHECK(ids(t.chains.at("svc_sip-ws")) ==
          std::vector<std::string>{"sip-ws/exempt-v4", "sip-ws/exempt-v6", "sip-ws/banned-v4",
                                   "sip-ws/banned-v6", "sip-ws/tcp-rate-v4", "sip-ws/tcp-conns-v4",
                                   "sip-ws/tcp-rate-v6", "sip-ws/tcp-conns-v6", "sip-ws/tcp-cap", "sip-ws/accept"});
    // not listed: untouched; RTP: the media backstop only
    CHECK(ids(t.chains.at("svc_web")) == std::vector<std::string>{"web/accept"});
    CHECK(ids(t.chains.at("svc_rtp")) == std::vector<std::string>{"rtp/exempt-v4", "rtp/exempt-v6",
                                                                  "rtp/media-flows-v4", "rtp/media-flows-v6",
                                                                  "rtp/accept"});
    // the established fast path is untouched: rule 1 of input
    CHECK(t.chains.at("input").rules.front().id == "established");
}

TEST_CASE("antiflood: metered UDP is untracked both ways, unless conntrack_udp") {
    auto t = compiled();
    CHECK(render_rule(rule(t, "flood_sip", "sip/untracked")) == "notrack comment \"ivozfw:sip/untracked\"");
    // the host's datagrams from the same ports: else each reply would create the entry
    const auto& out = t.chains.at("output");
    CHECK(out.hook == "output");
    CHECK(out.priority == -300);
    CHECK(out.policy == Verdict::accept);
    REQUIRE(out.rules.size() == 1);
    CHECK(render_rule(out.rules[0]) ==
          "meta l4proto udp th sport @untracked_udp oif != \"lo\" notrack comment \"ivozfw:untracked-replies\"");
    std::vector<Key> ports, metered;
    for (const auto& e : t.sets.at("untracked_udp").elements) ports.push_back(e.key);
    for (const auto& e : t.sets.at("flood_udp").elements) metered.push_back(e.key);
    CHECK(ports == metered);
    CHECK(ports.size() == 2);
    CHECK(render_script(t).find("chain output {\n\t\ttype filter hook output priority raw; policy accept;") !=
          std::string::npos);

    auto tracked = compiled(std::string(kPolicy).replace(std::string(kPolicy).find("\"max_tracked_sources\""), 0,
                                                         "\"conntrack_udp\": true, "));
    // Path MTU errors come before the invalid drop: one about an untracked datagram has no
    // conntrack state (nft says invalid); the other ICMP errors stay after it
    std::vector<std::string> input = ids(t.chains.at("input"));
    auto at = [&](const char* id) { return std::find(input.begin(), input.end(), id) - input.begin(); };
    CHECK(at("established") == 0);
    CHECK(at("icmp-pmtu") < at("invalid"));
    CHECK(at("icmpv6-pmtu") < at("invalid"));
    CHECK(at("icmp") > at("invalid"));
    CHECK(at("icmpv6") > at("invalid"));
    CHECK(render_rule(rule(t, "input", "icmp-pmtu")) ==
          "meta l4proto icmp icmp type destination-unreachable icmp code frag-needed accept comment \"ivozfw:icmp-pmtu\"");
    CHECK(render_rule(rule(t, "input", "icmpv6-pmtu")) ==
          "meta l4proto ipv6-icmp icmpv6 type packet-too-big accept comment \"ivozfw:icmpv6-pmtu\"");
    CHECK_FALSE(tracked.chains.count("output"));
    CHECK_FALSE(tracked.sets.count("untracked_udp"));
    for (const auto& r : tracked.chains.at("flood_sip").rules) CHECK(r.id != "sip/untracked");
    CHECK(tracked.chains.at("flood_sip").rules.back().id == "sip/to-input");
}

TEST_CASE("antiflood: a service whose sources GeoIP or companies.strict filter stays tracked, unless told") {
    auto with = [](const std::string& extra, const char* conntrack = nullptr) {
        std::string text = kPolicy;
        text.replace(text.rfind('}'), 1, ", " + extra + "}");
        if (conntrack) text.replace(text.find("\"max_tracked_sources\""), 0, conntrack);
        Sources src;
        src.geoip_drop = net::AddressSet{};
        src.companies = net::AddressSet{};
        auto p = policy::load_text(text, "test.json");
        return std::make_pair(compile(p, src), udp_conntrack_summary(p));
    };
    auto has_notrack = [](const Table& t, const char* chain) {
        const auto& r = t.chains.at(chain).rules;
        return std::any_of(r.begin(), r.end(), [](const Rule& x) { return x.id.ends_with("/untracked"); });
    };
    // GeoIP on the trunks only: an outbound carrier's answers to 7060 must pass as established
    auto [g, gs] = with(R"("geoip": {"database": "/x.mmdb", "mode": "deny", "countries": ["CN"], "services": ["sip-trunks"]})");
    CHECK(has_notrack(g, "flood_sip"));
    CHECK_FALSE(has_notrack(g, "flood_sip-trunks"));
    REQUIRE(g.sets.count("untracked_udp"));
    REQUIRE(g.sets.at("untracked_udp").elements.size() == 1);
    CHECK(g.sets.at("untracked_udp").elements[0].key == Key(be_bytes(5060, 2)));
    CHECK(gs.find("untracked both ways (a flood fills no conntrack entry): sip (udp 5060); tracked by conntrack: "
                  "sip-trunks (udp 7060) (GeoIP or companies.strict") != std::string::npos);
    // companies.strict guards every public SIP service: nothing untracked, no output chain,
    // and the strict drop waits for the service chain, after `established`
    auto [c, cs] = with(R"("companies": {"source": "/x", "strict": true})");
    CHECK_FALSE(has_notrack(c, "flood_sip"));
    CHECK_FALSE(c.chains.count("output"));
    CHECK_FALSE(c.sets.count("untracked_udp"));
    CHECK(cs.find("untracked") == std::string::npos);
    auto has_rule = [](const Table& t, const char* chain, const char* id) {
        const auto& r = t.chains.at(chain).rules;
        return std::any_of(r.begin(), r.end(), [&](const Rule& x) { return x.id == id; });
    };
    CHECK_FALSE(has_rule(c, "flood_sip", "sip/not-company"));
    CHECK(has_rule(c, "svc_sip", "sip/not-company"));
    // conntrack_udp: false untracks them all anyway; true tracks them all
    auto [f, fs] = with(R"("companies": {"source": "/x", "strict": true})", "\"conntrack_udp\": false, ");
    CHECK(has_notrack(f, "flood_sip"));
    CHECK(has_notrack(f, "flood_sip-trunks"));
    CHECK(f.sets.at("untracked_udp").elements.size() == 2);
    CHECK(has_rule(f, "flood_sip", "sip/not-company"));   // untracked: dropped before conntrack
    CHECK(fs == "metered UDP ports: untracked both ways (a flood fills no conntrack entry): sip (udp 5060), "
                "sip-trunks (udp 7060)");
    auto [t, ts] = with(R"("icmp": {"echo_rate": 5})", "\"conntrack_udp\": true, ");
    CHECK_FALSE(has_notrack(t, "flood_sip"));
    CHECK(ts == "metered UDP ports: tracked by conntrack: sip (udp 5060), sip-trunks (udp 7060) "
                "(antiflood.conntrack_udp)");
}

TEST_CASE("antiflood: nft text of the rules") {
    auto t = compiled();
    CHECK(render_rule(rule(t, "flood_sip", "sip/flood-v4")) ==
          "meta nfproto ipv4 update @flood_v4 { ip saddr limit rate over 50/second burst 100 packets } "
          "update @ban_v4 { ip saddr } counter name \"drop_flood\" drop comment \"ivozfw:sip/flood-v4\"");
    CHECK(render_rule(rule(t, "flood_sip", "sip/not-local")) ==
          "fib daddr type != local accept comment \"ivozfw:sip/not-local\"");
    CHECK(render_rule(rule(t, "flood_sip", "sip/loopback")) == "iif \"lo\" accept comment \"ivozfw:sip/loopback\"");
    CHECK(render_rule(t.chains.at("prerouting").rules.at(0)) ==
          "meta l4proto udp th dport vmap @flood_udp comment \"ivozfw:flood-dispatch\"");
    CHECK(render_rule(rule(t, "flood_sip", "sip/banned-v6")) ==
          "meta nfproto ipv6 ip6 saddr & ffff:ffff:ffff:ffff:: == @ban_v6 counter name \"drop_banned\" drop "
          "comment \"ivozfw:sip/banned-v6\"");
    CHECK(render_rule(rule(t, "svc_sip", "sip/tcp-conns-v6")) ==
          "meta l4proto tcp meta nfproto ipv6 add @connlimit_v6 { ip6 saddr & ffff:ffff:ffff:ffff:: ct count over 64 } "
          "counter name \"drop_conn_limit\" drop comment \"ivozfw:sip/tcp-conns-v6\"");
    CHECK(render_rule(rule(t, "svc_rtp", "rtp/media-flows-v4")) ==
          "meta l4proto udp meta nfproto ipv4 add @media_v4 { ip saddr ct count over 200 } counter name "
          "\"drop_call_limit\" drop comment \"ivozfw:rtp/media-flows-v4\"");
    // every datagram to a metered port is metered before conntrack: the established fast
    // path needs no exception any more
    CHECK(render_rule(t.chains.at("input").rules.at(0)) ==
          "ct state established,related accept comment \"ivozfw:established\"");
    auto script = render_script(t);
    CHECK(script.find("set ban_v4 {\n\t\ttype ipv4_addr; size 262144; flags dynamic,timeout; timeout 300s;") !=
          std::string::npos);
    CHECK(script.find("map flood_udp {\n\t\ttype inet_service : verdict;\n\t\telements = { 5060 : goto flood_sip, "
                      "7060 : goto flood_sip-trunks }") != std::string::npos);
    CHECK(script.find("chain prerouting {\n\t\ttype filter hook prerouting priority raw; policy accept;") !=
          std::string::npos);
}

TEST_CASE("antiflood: kernel expressions (what nft 1.0.6 generates for the same text)") {
    auto t = compiled();
    CHECK(rule(t, "flood_sip", "sip/flood-v6").exprs ==
          "[ meta load nfproto => reg 1 ]\n"
          "[ cmp eq reg 1 0x0000000a ]\n"
          "[ payload load 16b @ network header + 8 => reg 1 ]\n"
          "[ bitwise reg 1 = ( reg 1 & 0xffffffff 0xffffffff 0x00000000 0x00000000 ) ^ 0x00000000 0x00000000 0x00000000 0x00000000 ]\n"
          "[ dynset update reg_key 1 set flood_v6 timeout 0ms expr [ limit rate 50/second burst 100 type packets flags 0x1 ] ]\n"
          "[ payload load 16b @ network header + 8 => reg 1 ]\n"
          "[ bitwise reg 1 = ( reg 1 & 0xffffffff 0xffffffff 0x00000000 0x00000000 ) ^ 0x00000000 0x00000000 0x00000000 0x00000000 ]\n"
          "[ dynset update reg_key 1 set ban_v6 timeout 0ms ]\n"
          "[ objref type 1 name drop_flood ]\n"
          "[ immediate reg 0 drop ]\n");
    CHECK(rule(t, "svc_sip", "sip/tcp-conns-v4").exprs.find(
              "[ dynset add reg_key 1 set connlimit_v4 timeout 0ms expr [ connlimit count 64 flags 1 ] ]") !=
          std::string::npos);
    CHECK(rule(t, "flood_sip", "sip/not-local").exprs ==
          "[ fib daddr type => reg 1 ]\n"
          "[ cmp neq reg 1 0x00000002 ]\n"
          "[ immediate reg 0 accept ]\n");
    // the dispatch before conntrack: udp, then a plain (hash) lookup of the port, no byteorder
    CHECK(t.chains.at("prerouting").rules.at(0).exprs ==
          "[ meta load l4proto => reg 1 ]\n"
          "[ cmp eq reg 1 0x00000011 ]\n"
          "[ payload load 2b @ transport header + 2 => reg 1 ]\n"
          "[ lookup reg 1 set flood_udp dreg 0 0x0 ]\n");
}

TEST_CASE("antiflood: off, or media backstop alone") {
    auto plain = compiled(R"({"services": {"sip": {"udp": [5060]}, "rtp": {"udp": ["13000-19000"]}}})");
    CHECK_FALSE(plain.sets.count("ban_v4"));
    CHECK_FALSE(plain.sets.count(names::flood_udp));
    CHECK_FALSE(plain.chains.count(names::prerouting));
    CHECK(render_rule(plain.chains.at("input").rules.at(0)) ==
          "ct state established,related accept comment \"ivozfw:established\"");
    CHECK(ids(plain.chains.at("svc_sip")) == std::vector<std::string>{"sip/accept"});
    auto media = compiled(R"({"services": {"rtp": {"udp": ["13000-19000"]}, "sip": {"udp": [5060]}},
                              "call_limit": {"max_media_flows_per_source": 5}})");
    CHECK(media.sets.count("media_v4"));
    CHECK_FALSE(media.sets.count("ban_v4"));
    CHECK(media.sets.at("media_v4").size == 262144);
    CHECK(ids(media.chains.at("svc_sip")) == std::vector<std::string>{"sip/accept"});
}

TEST_CASE("antiflood: bans and meters survive a re-plan; a changed ban time recreates the set") {
    auto desired = compiled();
    Table live = desired;
    Element banned{{198, 51, 100, 7}}, metered{{198, 51, 100, 7}};
    banned.set().expires_ms = 5000;
    metered.set().expires_ms = 50000;
    live.sets.at("ban_v4").elements.push_back(banned);
    live.sets.at("flood_v4").elements.push_back(metered);
    CHECK(plan::plan(desired, live).empty());
    auto longer = compiled(std::string(kPolicy).replace(std::string(kPolicy).find("\"300s\""), 6, "\"600s\""));
    auto p = plan::plan(longer, live);
    bool recreated = false;
    for (const auto& o : p.ops)
        if (o.verb == plan::Op::delete_set && o.name == "ban_v4") recreated = true;
    CHECK(recreated);
    for (const auto& o : p.ops) CHECK_FALSE((o.verb == plan::Op::delete_set && o.name == "flood_v4"));
}
