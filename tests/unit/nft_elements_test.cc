// SPDX-License-Identifier: GPL-2.0-or-later
// nft back end, the parts that need no kernel: interval encoding, comments, annotate.
#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "nft/internal.h"
#include "nft/netlink.h"
#include "ruleset/values.h"

using namespace ivozfw;
using namespace ivozfw::ruleset;
using ivozfw::nft::detail::WireElem;

namespace {

Bytes v4(const char* s) {
    Bytes b(4);
    inet_pton(AF_INET, s, b.data());
    return b;
}
Bytes v6(const char* s) {
    Bytes b(16);
    inet_pton(AF_INET6, s, b.data());
    return b;
}
Set v4_interval() {
    Set s;
    s.name = "admin_v4";
    s.key = {KeyType::ipv4_addr};
    s.interval = true;
    return s;
}
Element range(Bytes lo, Bytes hi = {}) {
    Element e;
    e.key = std::move(lo);
    e.key_end = std::move(hi);
    return e;
}

}  // namespace

TEST_CASE("interval set: ranges become start + exclusive end elements", "[nft]") {
    Set s = v4_interval();
    auto wire = nft::detail::encode_elements(
        s, {range(v4("10.0.0.1")), range(v4("192.0.2.0"), v4("192.0.2.255")),
            range(v4("240.0.0.0"), v4("255.255.255.255"))});
    REQUIRE(wire.size() == 5);  // no end element after all-ones
    CHECK(wire[0].key == v4("10.0.0.1"));
    CHECK_FALSE(wire[0].interval_end);
    CHECK(wire[1].key == v4("10.0.0.2"));
    CHECK(wire[1].interval_end);
    CHECK(wire[3].key == v4("192.0.3.0"));
    CHECK(wire[4].key == v4("240.0.0.0"));
    CHECK(wire[4].open_end);
}

TEST_CASE("interval set: encode/decode round trip", "[nft]") {
    Set s = v4_interval();
    std::vector<Element> els = {range(v4("0.0.0.0"), v4("0.255.255.255")), range(v4("10.0.0.1")),
                                range(v4("10.0.0.2"), v4("10.0.0.9")),  // adjacent
                                range(v4("198.51.100.10"), v4("198.51.100.20")),
                                range(v4("255.255.255.255"))};
    auto wire = nft::detail::encode_elements(s, els);
    std::reverse(wire.begin(), wire.end());  // rbtree dumps come highest first
    CHECK(nft::detail::decode_elements(s, wire) == els);

    Set s6 = s;
    s6.key = {KeyType::ipv6_addr};
    std::vector<Element> e6 = {range(v6("::1")),
                               range(v6("2001:db8::"), v6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")),
                               range(v6("ffff::"), v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))};
    CHECK(nft::detail::decode_elements(s6, nft::detail::encode_elements(s6, e6)) == e6);
}

TEST_CASE("interval set: decoder ignores a leading end and closes open starts", "[nft]") {
    Set s = v4_interval();
    std::vector<WireElem> wire(3);
    wire[0].key = v4("0.0.0.0");  // nft's first-segment marker
    wire[0].interval_end = true;
    wire[1].key = v4("10.0.0.0");
    wire[2].key = v4("10.0.1.0");  // start while one is open: closes it at start-1
    auto got = nft::detail::decode_elements(s, wire);
    REQUIRE(got.size() == 2);
    CHECK(got[0] == range(v4("10.0.0.0"), v4("10.0.0.255")));
    CHECK(got[1] == range(v4("10.0.1.0"), v4("255.255.255.255")));
}

TEST_CASE("concatenated interval map: one element with inclusive KEY_END", "[nft]") {
    Set s;
    s.name = "services";
    s.key = {KeyType::inet_proto, KeyType::inet_service};
    s.interval = s.verdict_map = true;
    Element e;
    e.key = {17, 0, 0, 0, 0x32, 0xc8, 0, 0};
    e.key_end = {17, 0, 0, 0, 0x4a, 0x38, 0, 0};
    e.set().verdict = Verdict{Verdict::goto_, "svc_rtp"};
    auto wire = nft::detail::encode_elements(s, {e});
    REQUIRE(wire.size() == 1);
    CHECK(wire[0].key_end == e.key_end);
    CHECK(nft::detail::decode_elements(s, wire) == std::vector<Element>{e});
    CHECK(ruleset::format_element(s, e) == "udp . 13000-19000 : goto svc_rtp");
}

TEST_CASE("element descriptions: one formatter for errors and diffs", "[nft]") {
    Set s = v4_interval();
    CHECK(ruleset::format_element(s, range(v4("192.0.2.0"), v4("192.0.2.255"))) ==
          "192.0.2.0/24");
    CHECK(ruleset::format_element(s, range(v4("10.0.0.1"), v4("10.0.0.9"))) ==
          "10.0.0.1-10.0.0.9");
    CHECK(ruleset::format_element(s, range(v4("10.0.0.1"))) == "10.0.0.1");
}

TEST_CASE("rule comments carry the id", "[nft]") {
    CHECK(nft::rule_comment("dispatch") == "ivozfw:dispatch");
    CHECK(nft::rule_id_from_comment("ivozfw:dispatch") == "dispatch");
    CHECK_FALSE(nft::rule_id_from_comment("ivozfw:"));
    CHECK_FALSE(nft::rule_id_from_comment("hand made"));
}

TEST_CASE("annotate: same rule, same text; nft's expression sequence", "[nft]") {
    Table t;
    t.sets["services"] = Set{};
    t.sets["services"].name = "services";
    t.sets["services"].key = {KeyType::inet_proto, KeyType::inet_service};
    t.sets["services"].interval = true;
    t.sets["services"].verdict_map = true;
    Rule est;
    est.id = "est";
    Bytes mask(4);
    uint32_t m = ct_established | ct_related;
    memcpy(mask.data(), &m, 4);
    est.stmts = {Match{Match::any_bit, {Selector::ct_state}, mask, {}}, Verdict{Verdict::accept}};
    Rule vmap;
    vmap.id = "dispatch";
    vmap.stmts = {VmapLookup{{Selector::meta_l4proto, Selector::th_dport}, "services"}};
    t.chains["input"].name = "input";
    t.chains["input"].rules = {est, vmap, est};
    nft::annotate(t);
    auto& r = t.chains["input"].rules;
    CHECK(r[0].exprs == r[2].exprs);
    CHECK(r[0].exprs ==
          "[ ct load state => reg 1 ]\n"
          "[ bitwise reg 1 = ( reg 1 & 0x00000006 ) ^ 0x00000000 ]\n"
          "[ cmp neq reg 1 0x00000000 ]\n"
          "[ immediate reg 0 accept ]\n");
    CHECK(r[1].exprs ==
          "[ meta load l4proto => reg 1 ]\n"
          "[ byteorder reg 1 = hton(reg 1, 2, 1) ]\n"
          "[ payload load 2b @ transport header + 2 => reg 9 ]\n"
          "[ lookup reg 1 set services dreg 0 0x0 ]\n");
}
