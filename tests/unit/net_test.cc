// SPDX-License-Identifier: GPL-2.0-or-later
#include <catch2/catch.hpp>

#include "net/ip.h"
#include "net/sessions.h"

using namespace ivozfw::net;

namespace {

const u128 kAllOnes = ~u128{0};

Range v4(const char* s) {
    std::string err;
    auto p = parse_prefix(s, &err);
    INFO(err);
    REQUIRE(p);
    REQUIRE(p->addr.family == Family::v4);
    return p->range();
}

Range v6(const char* s) {
    auto p = parse_prefix(s, nullptr);
    REQUIRE(p);
    REQUIRE(p->addr.family == Family::v6);
    return p->range();
}

}  // namespace

TEST_CASE("parse_address accepts both families") {
    auto a = parse_address("192.0.2.1");
    REQUIRE(a);
    CHECK(a->family == Family::v4);
    CHECK(a->value == 0xc0000201u);
    auto b = parse_address("2001:db8::1");
    REQUIRE(b);
    CHECK(b->family == Family::v6);
    CHECK(b->value == ((u128{0x20010db8} << 96) | 1));
    CHECK(parse_address("::")->value == 0);
    CHECK(parse_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")->value == kAllOnes);
}

TEST_CASE("parse_prefix rejects garbage with a reason") {
    struct Case {
        const char* in;
        const char* err;
    };
    auto c = GENERATE(values<Case>({
        {"", "empty address"},
        {"1.2.3", "\"1.2.3\" is not an IP address or CIDR prefix"},
        {"300.1.1.1", "\"300.1.1.1\" is not an IP address or CIDR prefix"},
        {" 1.2.3.4", "\" 1.2.3.4\" is not an IP address or CIDR prefix"},
        {"1.2.3.4 ", "\"1.2.3.4 \" is not an IP address or CIDR prefix"},
        {"01.2.3.4", "\"01.2.3.4\" is not an IP address or CIDR prefix"},
        {"fe80::1%eth0", "\"fe80::1%eth0\" is not an IP address or CIDR prefix"},
        {"example.com", "\"example.com\" is not an IP address or CIDR prefix"},
        {"/24", "\"/24\" is not an IP address or CIDR prefix"},
        {"1.2.3.4/33", "\"1.2.3.4/33\": prefix length must be 0-32"},
        {"1.2.3.4/", "\"1.2.3.4/\": prefix length must be 0-32"},
        {"1.2.3.4/-1", "\"1.2.3.4/-1\": prefix length must be 0-32"},
        {"1.2.3.4/ 8", "\"1.2.3.4/ 8\": prefix length must be 0-32"},
        {"2001:db8::/129", "\"2001:db8::/129\": prefix length must be 0-128"},
        {"198.51.100.7/24", "198.51.100.7/24 has host bits set: did you mean 198.51.100.0/24?"},
        {"2001:db8::1/32", "2001:db8::1/32 has host bits set: did you mean 2001:db8::/32?"},
        {"0.0.0.1/0", "0.0.0.1/0 has host bits set: did you mean 0.0.0.0/0?"},
    }));
    std::string err;
    CAPTURE(c.in);
    CHECK_FALSE(parse_prefix(c.in, &err));
    CHECK(err == c.err);
}

TEST_CASE("prefix ranges, including /0 of both families") {
    CHECK(v4("192.0.2.0/24") == Range{0xc0000200u, 0xc00002ffu});
    CHECK(v4("192.0.2.7") == Range{0xc0000207u, 0xc0000207u});
    CHECK(v4("0.0.0.0/0") == Range{0, 0xffffffffu});
    CHECK(v6("::/0") == Range{0, kAllOnes});
    CHECK(v6("2001:db8::/32").hi == ((u128{0x20010db8} << 96) | (kAllOnes >> 32)));
}

TEST_CASE("format_range prints an address, a prefix or a range") {
    CHECK(format_range(Family::v4, v4("192.0.2.7")) == "192.0.2.7");
    CHECK(format_range(Family::v4, v4("192.0.2.0/24")) == "192.0.2.0/24");
    CHECK(format_range(Family::v4, v4("0.0.0.0/0")) == "0.0.0.0/0");
    CHECK(format_range(Family::v4, {0xc0000201u, 0xc0000202u}) == "192.0.2.1-192.0.2.2");
    CHECK(format_range(Family::v4, {0xc0000200u, 0xc0000202u}) == "192.0.2.0-192.0.2.2");
    CHECK(format_range(Family::v6, v6("::/0")) == "::/0");
    CHECK(format_range(Family::v6, v6("2001:db8:a::/48")) == "2001:db8:a::/48");
    CHECK(format_range(Family::v6, {1, 2}) == "::1-::2");
    CHECK(format_address(Family::v6, kAllOnes) == "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

TEST_CASE("normalize sorts and merges overlapping and adjacent ranges") {
    CHECK(normalize({}).empty());
    CHECK(normalize({{10, 20}, {0, 5}}) == RangeList{{0, 5}, {10, 20}});
    CHECK(normalize({{0, 5}, {6, 9}}) == RangeList{{0, 9}});          // adjacent
    CHECK(normalize({{0, 5}, {7, 9}}) == RangeList{{0, 5}, {7, 9}});  // one gap stays
    CHECK(normalize({{0, 10}, {2, 3}, {5, 12}}) == RangeList{{0, 12}});
    CHECK(normalize({{3, 3}, {3, 3}}) == RangeList{{3, 3}});
    // 192.0.2.0/25 + 192.0.2.128/25 = 192.0.2.0/24
    CHECK(normalize({v4("192.0.2.128/25"), v4("192.0.2.0/25")}) == RangeList{v4("192.0.2.0/24")});
}

TEST_CASE("normalize at the all-ones top does not wrap") {
    CHECK(normalize({{kAllOnes, kAllOnes}, {0, 0}}) == RangeList{{0, 0}, {kAllOnes, kAllOnes}});
    CHECK(normalize({{5, kAllOnes}, {kAllOnes, kAllOnes}}) == RangeList{{5, kAllOnes}});
    CHECK(normalize({{0, kAllOnes}, {7, 9}}) == RangeList{{0, kAllOnes}});
    CHECK(normalize({{kAllOnes - 1, kAllOnes - 1}, {kAllOnes, kAllOnes}}) ==
          RangeList{{kAllOnes - 1, kAllOnes}});
    CHECK(normalize({{0xfffffffe, 0xffffffff}, {0, 0xfffffffd}}) == RangeList{{0, 0xffffffff}});
}

TEST_CASE("intersect") {
    CHECK(intersect({}, {{0, 9}}).empty());
    CHECK(intersect({{0, 9}}, {{5, 20}}) == RangeList{{5, 9}});
    CHECK(intersect({{0, 9}, {20, 29}}, {{5, 24}}) == RangeList{{5, 9}, {20, 24}});
    CHECK(intersect({{0, 9}}, {{10, 20}}).empty());
    CHECK(intersect({{0, kAllOnes}}, {{3, 3}, {kAllOnes, kAllOnes}}) ==
          RangeList{{3, 3}, {kAllOnes, kAllOnes}});
}

TEST_CASE("subtract") {
    CHECK(subtract({{0, 9}}, {}) == RangeList{{0, 9}});
    CHECK(subtract({{0, 9}}, {{0, 9}}).empty());
    CHECK(subtract({{0, 9}}, {{3, 4}}) == RangeList{{0, 2}, {5, 9}});
    CHECK(subtract({{0, 9}}, {{0, 0}, {9, 9}}) == RangeList{{1, 8}});
    CHECK(subtract({{0, 9}, {20, 29}}, {{5, 24}}) == RangeList{{0, 4}, {25, 29}});
    CHECK(subtract({{5, 9}}, {{0, 100}}).empty());
    CHECK(subtract({{0, kAllOnes}}, {{0, 0}}) == RangeList{{1, kAllOnes}});
    CHECK(subtract({{0, kAllOnes}}, {{kAllOnes, kAllOnes}}) == RangeList{{0, kAllOnes - 1}});
    // One b range spanning two a ranges is used for both.
    CHECK(subtract({{0, 9}, {12, 20}}, {{8, 13}}) == RangeList{{0, 7}, {14, 20}});
}

TEST_CASE("coverage counts addresses and saturates") {
    CHECK(coverage({}) == 0);
    CHECK(coverage({{0, 9}, {20, 20}}) == 11);
    CHECK(coverage({v4("0.0.0.0/0")}) == (u128{1} << 32));
    CHECK(coverage({v6("::/0")}) == kAllOnes);
    CHECK(coverage({v6("::/1"), v6("8000::/1")}) == kAllOnes);
    CHECK(coverage({v6("::/1")}) == (u128{1} << 127));
}

TEST_CASE("AddressSet splits families and answers membership") {
    AddressSet s;
    s.add(*parse_prefix("192.0.2.0/25", nullptr));
    s.add(*parse_prefix("192.0.2.128/25", nullptr));
    s.add(*parse_prefix("2001:db8::/32", nullptr));
    s.normalize();
    CHECK(s.v4 == RangeList{v4("192.0.2.0/24")});
    CHECK(s.v6 == RangeList{v6("2001:db8::/32")});
    CHECK(s.contains(*parse_address("192.0.2.255")));
    CHECK_FALSE(s.contains(*parse_address("192.0.3.0")));
    CHECK(s.contains(*parse_address("2001:db8:ffff::1")));
    CHECK_FALSE(s.contains(*parse_address("2001:db9::")));
    // The same number in the other family is not a member.
    CHECK_FALSE(s.contains(Address{Family::v6, 0xc0000201u}));
    CHECK(AddressSet{}.empty());
}

TEST_CASE("sessions: established connections to a port, from /proc/net/tcp and tcp6 as the kernel prints them") {
    const std::string v4 =
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n"   // listen
        "   1: 010200C0:0016 056433C6:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1\n"   // ssh
        "   2: 010200C0:13C4 066433C6:C351 01 00000000:00000000 00:00000000 00000000     0        0 3 1\n"   // 5060
        "   3: 010200C0:0016 076433C6:C352 06 00000000:00000000 00:00000000 00000000     0        0 4 1\n";  // time-wait
    auto s = parse_tcp_table(v4, false, {22});
    REQUIRE(s.size() == 1);
    CHECK(format_address(s[0].remote.family, s[0].remote.value) == "198.51.100.5");
    CHECK(s[0].local_port == 22);
    const std::string v6 =
        "  sl  local_address                         remote_address                        st\n"
        "   0: B80D0120000000000000000001000000:0016 B80D0120000000000000000005000000:C350 01 0 0 0\n"
        "   1: 0000000000000000FFFF0000010200C0:0016 0000000000000000FFFF0000056433C6:C351 01 0 0 0\n"
        "   2: garbage\n";
    auto s6 = parse_tcp_table(v6, true, {22});
    REQUIRE(s6.size() == 2);
    CHECK(format_address(s6[0].remote.family, s6[0].remote.value) == "2001:db8::5");
    CHECK(s6[1].remote.family == Family::v4);   // IPv4-mapped: the IPv4 address
    CHECK(format_address(s6[1].remote.family, s6[1].remote.value) == "198.51.100.5");
    CHECK(parse_tcp_table(v4, false, {2222}).empty());
}
