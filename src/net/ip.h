// SPDX-License-Identifier: GPL-2.0-or-later
// Addresses, prefixes and interval lists: the arithmetic every address list, GeoIP table and
// company range goes through before it becomes kernel set elements.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ivozfw::net {

using u128 = unsigned __int128;

enum class Family : uint8_t { v4, v6 };

inline unsigned bits(Family f) { return f == Family::v4 ? 32 : 128; }
inline u128 max_value(Family f) { return f == Family::v4 ? u128{0xffffffffu} : ~u128{0}; }

/// An address as a number: IPv4 in the low 32 bits.
struct Address {
    Family family = Family::v4;
    u128 value = 0;
    bool operator==(const Address&) const = default;
};

/// Inclusive range [lo, hi] of one family.
struct Range {
    u128 lo = 0, hi = 0;
    bool operator==(const Range&) const = default;
    auto operator<=>(const Range& o) const {
        if (lo != o.lo) return lo < o.lo ? std::strong_ordering::less : std::strong_ordering::greater;
        if (hi != o.hi) return hi < o.hi ? std::strong_ordering::less : std::strong_ordering::greater;
        return std::strong_ordering::equal;
    }
};

/// A parsed CIDR (or bare address = full-length prefix).
struct Prefix {
    Address addr;
    unsigned len = 0;
    Range range() const;
};

/// Parse "192.0.2.1" or "2001:db8::1". nullopt when it is not an address.
std::optional<Address> parse_address(std::string_view s);

/// Parse "192.0.2.0/24", "2001:db8::/32" or a bare address. On failure, returns nullopt and
/// fills *err with a reason; a prefix with host bits set is an error naming the network
/// it probably meant ("host bits set: did you mean 192.0.2.0/24?").
std::optional<Prefix> parse_prefix(std::string_view s, std::string* err);
/// Same, but host bits are cleared (the network is meant, as Kamailio applies the mask);
/// *host_bits then says so ("203.0.113.7/24 has host bits set: loaded as 203.0.113.0/24").
std::optional<Prefix> parse_network(std::string_view s, std::string* err, std::string* host_bits);

std::string format_address(Family f, u128 v);
std::string format_range(Family f, const Range& r);   // "a", "a/len" or "a-b"
/// format_range's output back: "a", "a/len" or "a-b"; nullopt otherwise.
std::optional<std::pair<Family, Range>> parse_range(std::string_view s);

/// Sorted, disjoint, non-adjacent ranges: the minimal form the kernel set holds.
using RangeList = std::vector<Range>;

/// Sort and merge overlapping and adjacent ranges.
RangeList normalize(RangeList in);
/// Intersect two normalized lists.
RangeList intersect(const RangeList& a, const RangeList& b);
/// a minus b, both normalized.
RangeList subtract(const RangeList& a, const RangeList& b);
/// Number of addresses covered (saturates at 2^128-1).
u128 coverage(const RangeList& l);

/// An address list split per family, each normalized. add() only appends: call normalize()
/// after adding and before contains() or comparing.
struct AddressSet {
    RangeList v4, v6;
    bool empty() const { return v4.empty() && v6.empty(); }
    void add(const Prefix& p);
    void add(Family f, Range r);
    void normalize();
    bool contains(const Address& a) const;
    bool operator==(const AddressSet&) const = default;
};

}  // namespace ivozfw::net
