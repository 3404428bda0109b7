// SPDX-License-Identifier: GPL-2.0-or-later
#include "net/ip.h"

#include <arpa/inet.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "input/quote.h"

namespace ivozfw::net {

namespace {

/// Mask of the host part of a prefix: the low (bits - len) bits.
u128 host_mask(Family f, unsigned len) {
    unsigned host = bits(f) - len;
    return host >= 128 ? ~u128{0} : (u128{1} << host) - 1;
}

unsigned popcount(u128 v) {
    return std::popcount(static_cast<uint64_t>(v)) + std::popcount(static_cast<uint64_t>(v >> 64));
}

/// Digits only, no sign or spaces: std::from_chars would accept more than a CIDR allows.
std::optional<unsigned> parse_length(std::string_view s) {
    if (s.empty() || s.size() > 3) return std::nullopt;
    unsigned n = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + unsigned(c - '0');
    }
    return n;
}

}  // namespace

Range Prefix::range() const {
    u128 mask = host_mask(addr.family, len);
    return {addr.value & ~mask, addr.value | mask};
}

std::optional<Address> parse_address(std::string_view s) {
    // inet_pton wants a C string; anything longer than the longest textual form is garbage.
    if (s.empty() || s.size() >= INET6_ADDRSTRLEN || s.find('\0') != s.npos) return std::nullopt;
    std::string text(s);
    if (text.find(':') == text.npos) {
        in_addr a4;
        if (inet_pton(AF_INET, text.c_str(), &a4) != 1) return std::nullopt;
        return Address{Family::v4, ntohl(a4.s_addr)};
    }
    in6_addr a6;
    if (inet_pton(AF_INET6, text.c_str(), &a6) != 1) return std::nullopt;
    u128 v = 0;
    for (uint8_t byte : a6.s6_addr) v = (v << 8) | byte;
    return Address{Family::v6, v};
}

namespace {

// host_bits: null = an error (a typo in a hand-written list); else the network is taken and
// *host_bits says what was cleared (a database row Kamailio matches with its mask applied).
std::optional<Prefix> parse_cidr(std::string_view s, std::string* err, std::string* host_bits) {
    auto fail = [&](std::string why) -> std::optional<Prefix> {
        if (err) *err = std::move(why);
        return std::nullopt;
    };
    if (s.empty()) return fail("empty address");
    size_t slash = s.find('/');
    auto addr = parse_address(s.substr(0, slash));
    if (!addr) return fail(input::quote_short(s) + " is not an IP address or CIDR prefix");
    Prefix p{*addr, bits(addr->family)};
    if (slash == s.npos) return p;
    auto len = parse_length(s.substr(slash + 1));
    if (!len || *len > bits(addr->family))
        return fail(input::quote_short(s) + ": prefix length must be 0-" + std::to_string(bits(addr->family)));
    p.len = *len;
    u128 mask = host_mask(addr->family, p.len);
    if (addr->value & mask) {
        std::string net = format_address(addr->family, addr->value & ~mask) + "/" + std::to_string(p.len);
        if (!host_bits) return fail(std::string(s) + " has host bits set: did you mean " + net + "?");
        *host_bits = std::string(s) + " has host bits set: loaded as " + net;
        p.addr.value &= ~mask;
    }
    return p;
}

}  // namespace

std::optional<Prefix> parse_prefix(std::string_view s, std::string* err) { return parse_cidr(s, err, nullptr); }

std::optional<Prefix> parse_network(std::string_view s, std::string* err, std::string* host_bits) {
    std::string ignored;
    return parse_cidr(s, err, host_bits ? host_bits : &ignored);
}

std::string format_address(Family f, u128 v) {
    char buf[INET6_ADDRSTRLEN];
    if (f == Family::v4) {
        in_addr a4{htonl(static_cast<uint32_t>(v))};
        return inet_ntop(AF_INET, &a4, buf, sizeof buf);
    }
    in6_addr a6;
    for (int i = 15; i >= 0; --i, v >>= 8) a6.s6_addr[i] = static_cast<uint8_t>(v);
    return inet_ntop(AF_INET6, &a6, buf, sizeof buf);
}

std::optional<std::pair<Family, Range>> parse_range(std::string_view s) {
    if (auto dash = s.find('-'); dash != std::string_view::npos) {
        auto a = parse_address(s.substr(0, dash)), b = parse_address(s.substr(dash + 1));
        if (!a || !b || a->family != b->family || b->value < a->value) return std::nullopt;
        return std::pair{a->family, Range{a->value, b->value}};
    }
    std::string err;
    auto p = parse_prefix(s, &err);
    if (!p) return std::nullopt;
    return std::pair{p->addr.family, p->range()};
}

std::string format_range(Family f, const Range& r) {
    if (r.lo == r.hi) return format_address(f, r.lo);
    u128 span = r.hi - r.lo;
    // One prefix: span is all ones (2^k - 1; +1 wraps to 0 for the whole v6 space) and lo aligned.
    if ((span & (span + 1)) == 0 && (r.lo & span) == 0)
        return format_address(f, r.lo) + "/" + std::to_string(bits(f) - popcount(span));
    return format_address(f, r.lo) + "-" + format_address(f, r.hi);
}

RangeList normalize(RangeList in) {
    if (!std::is_sorted(in.begin(), in.end())) std::sort(in.begin(), in.end());
    size_t n = 0;   // merged in place: a 10^5-entry list is not copied
    for (const Range& r : in) {
        // Test hi == max first: hi + 1 would wrap at the all-ones top.
        if (n && (in[n - 1].hi == ~u128{0} || r.lo <= in[n - 1].hi + 1))
            in[n - 1].hi = std::max(in[n - 1].hi, r.hi);
        else
            in[n++] = r;
    }
    in.resize(n);
    return in;
}

RangeList intersect(const RangeList& a, const RangeList& b) {
    RangeList out;
    for (size_t i = 0, j = 0; i < a.size() && j < b.size();) {
        u128 lo = std::max(a[i].lo, b[j].lo), hi = std::min(a[i].hi, b[j].hi);
        if (lo <= hi) out.push_back({lo, hi});
        if (a[i].hi < b[j].hi) ++i;
        else ++j;
    }
    return out;
}

RangeList subtract(const RangeList& a, const RangeList& b) {
    RangeList out;
    size_t j = 0;
    for (const Range& r : a) {
        while (j < b.size() && b[j].hi < r.lo) ++j;
        u128 lo = r.lo;
        bool consumed = false;
        for (size_t k = j; k < b.size() && b[k].lo <= r.hi; ++k) {
            if (b[k].lo > lo) out.push_back({lo, b[k].lo - 1});
            if (b[k].hi >= r.hi) {
                consumed = true;
                break;
            }
            lo = b[k].hi + 1;  // b[k].hi < r.hi, so this cannot wrap
        }
        if (!consumed) out.push_back({lo, r.hi});
    }
    return out;
}

u128 coverage(const RangeList& l) {
    const u128 max = ~u128{0};
    u128 total = 0;
    for (const Range& r : l) {
        u128 span = r.hi - r.lo;  // size - 1, so the whole v6 space still fits
        if (span == max || total > max - span - 1) return max;
        total += span + 1;
    }
    return total;
}

void AddressSet::add(const Prefix& p) { add(p.addr.family, p.range()); }

void AddressSet::add(Family f, Range r) { (f == Family::v4 ? v4 : v6).push_back(r); }

void AddressSet::normalize() {
    v4 = net::normalize(std::move(v4));
    v6 = net::normalize(std::move(v6));
}

bool AddressSet::contains(const Address& a) const {
    const RangeList& l = a.family == Family::v4 ? v4 : v6;
    auto it = std::upper_bound(l.begin(), l.end(), a.value,
                               [](u128 v, const Range& r) { return v < r.lo; });
    return it != l.begin() && std::prev(it)->hi >= a.value;
}

}  // namespace ivozfw::net
