// SPDX-License-Identifier: GPL-2.0-or-later
#include "ruleset/values.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <stdexcept>

#include "input/quote.h"
#include "policy/policy.h"

namespace ivozfw::ruleset {

Bytes be_bytes(net::u128 v, unsigned len) {
    Bytes b(len);
    for (unsigned i = 0; i < len; ++i) b[len - 1 - i] = static_cast<uint8_t>(v >> (8 * i));
    return b;
}

net::u128 from_be(const uint8_t* p, unsigned len) {
    net::u128 v = 0;
    for (unsigned i = 0; i < len; ++i) v = (v << 8) | p[i];
    return v;
}

Bytes host_u32(uint32_t v) {
    Bytes b(4);
    for (unsigned i = 0; i < 4; ++i) b[i] = reinterpret_cast<const uint8_t*>(&v)[i];
    return b;
}

Element range_element(net::Family f, const net::Range& r) {
    unsigned len = f == net::Family::v4 ? 4 : 16;
    Element e;
    e.key = be_bytes(r.lo, len);
    if (r.hi != r.lo) e.key_end = be_bytes(r.hi, len);
    return e;
}

net::RangeList ranges_of(const Set& s) {
    net::RangeList out;
    for (const auto& e : s.elements) out.push_back(element_range(e));
    return net::normalize(out);
}

net::Range element_range(const Element& e) {
    unsigned len = e.key.size();
    net::Range r;
    r.lo = from_be(e.key.data(), len);
    r.hi = e.key_end.empty() ? r.lo : from_be(e.key_end.data(), len);
    return r;
}

// Concatenation fields are padded to 4 bytes each (one 32-bit register per field).
static void put_padded(Bytes& out, const Bytes& field) {
    out.insert(out.end(), field.begin(), field.end());
    out.resize(out.size() + (4 - field.size() % 4) % 4, 0);
}

Element proto_port_element(uint8_t proto, uint16_t lo, uint16_t hi, Verdict v) {
    Element e;
    Bytes k, k_end;
    put_padded(k, {proto});
    put_padded(k, be_bytes(lo, 2));
    put_padded(k_end, {proto});
    put_padded(k_end, be_bytes(hi, 2));
    e.key = k;
    e.key_end = k_end;
    e.set().verdict = std::move(v);
    return e;
}

static std::string proto_name(uint8_t p) {
    switch (p) {
    case 1: return "icmp";
    case 6: return "tcp";
    case 17: return "udp";
    case 58: return "ipv6-icmp";
    default: return std::to_string(p);
    }
}

static std::string icmp_name(KeyType t, uint8_t v) {
    static const std::map<uint8_t, const char*> v4 = {
        {0, "echo-reply"}, {3, "destination-unreachable"}, {5, "redirect"}, {8, "echo-request"},
        {9, "router-advertisement"}, {10, "router-solicitation"}, {11, "time-exceeded"},
        {12, "parameter-problem"}};
    static const std::map<uint8_t, const char*> v6 = {
        {1, "destination-unreachable"}, {2, "packet-too-big"}, {3, "time-exceeded"},
        {4, "parameter-problem"}, {128, "echo-request"}, {129, "echo-reply"},
        {133, "nd-router-solicit"}, {134, "nd-router-advert"}, {135, "nd-neighbor-solicit"},
        {136, "nd-neighbor-advert"}, {137, "nd-redirect"}};
    const auto& m = t == KeyType::icmp_type ? v4 : v6;
    auto it = m.find(v);
    return it != m.end() ? it->second : std::to_string(v);
}

std::string format_key(KeyType t, const uint8_t* p) {
    switch (t) {
    case KeyType::ipv4_addr: return net::format_address(net::Family::v4, from_be(p, 4));
    case KeyType::ipv6_addr: return net::format_address(net::Family::v6, from_be(p, 16));
    case KeyType::inet_proto: return proto_name(p[0]);
    case KeyType::inet_service: return std::to_string(static_cast<unsigned>(from_be(p, 2)));
    case KeyType::icmp_type:
    case KeyType::icmpv6_type: return icmp_name(t, p[0]);
    }
    return "?";
}

std::string format_verdict(const Verdict& v) {
    switch (v.kind) {
    case Verdict::accept: return "accept";
    case Verdict::drop: return "drop";
    case Verdict::jump: return "jump " + v.chain;
    case Verdict::goto_: return "goto " + v.chain;
    }
    return "?";
}

std::string format_duration(uint64_t ms) {
    uint64_t s = (ms + 999) / 1000;
    if (s >= 86400) return fmt::format("{}d{}h", s / 86400, s % 86400 / 3600);
    if (s >= 3600) return fmt::format("{}h{}m", s / 3600, s % 3600 / 60);
    if (s >= 60) return fmt::format("{}m{}s", s / 60, s % 60);
    return fmt::format("{}s", s);
}

const char* rate_unit(uint64_t seconds) {
    switch (seconds) {
    case 1: return "second";
    case 60: return "minute";
    case 3600: return "hour";
    case 86400: return "day";
    default: return "week";
    }
}

uint64_t parse_duration_ms(std::string_view s) {
    auto bad = [&](const char* why) {
        return std::runtime_error(fmt::format("{} {} (e.g. 300s, 5m, 1h, 1d; at most {}d)", input::quote_short(s),
                                              why, policy::kMaxTimeoutS / 86400));
    };
    size_t i = 0;
    uint64_t n = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i)
        if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, uint64_t(s[i] - '0'), &n))
            throw bad("is too long a duration");
    std::string_view unit = s.substr(i);
    uint64_t mult = unit == "ms" ? 1 : unit.empty() || unit == "s" ? 1000 : unit == "m" ? 60000
                  : unit == "h" ? 3600000 : unit == "d" ? 86400000 : 0;
    if (i == 0 || !mult) throw bad("is not a duration");
    if (n == 0) throw std::runtime_error("a ban must last at least 1 ms");
    uint64_t ms;
    if (__builtin_mul_overflow(n, mult, &ms) || ms > policy::kMaxTimeoutS * 1000) throw bad("is too long a duration");
    return ms;
}

static bool is_addr(KeyType t) { return t == KeyType::ipv4_addr || t == KeyType::ipv6_addr; }

// One field: a value, an address range (CIDR when it is one) or a numeric range.
static std::string format_field(KeyType t, const uint8_t* lo, const uint8_t* hi) {
    if (!hi || std::equal(lo, lo + key_len(t), hi)) return format_key(t, lo);
    if (is_addr(t)) {
        auto f = t == KeyType::ipv4_addr ? net::Family::v4 : net::Family::v6;
        return net::format_range(f, {from_be(lo, key_len(t)), from_be(hi, key_len(t))});
    }
    return format_key(t, lo) + "-" + format_key(t, hi);
}

std::string format_element(const Set& s, const Element& e) {
    std::string out;
    size_t off = 0;
    for (size_t i = 0; i < s.key.size(); ++i) {
        KeyType t = s.key[i];
        const uint8_t* hi = e.key_end.empty() ? nullptr : e.key_end.data() + off;
        if (i) out += " . ";
        out += format_field(t, e.key.data() + off, hi);
        off += s.key.size() > 1 ? (key_len(t) + 3) / 4 * 4 : key_len(t);
    }
    if (e.verdict()) out += " : " + format_verdict(*e.verdict());
    return out;
}

}  // namespace ivozfw::ruleset
