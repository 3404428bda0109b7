// SPDX-License-Identifier: GPL-2.0-or-later
// Numbers <-> the byte strings set elements and matches hold, and their nft spelling.
#pragma once

#include <string>
#include <string_view>

#include "net/ip.h"
#include "ruleset/model.h"

namespace ivozfw::ruleset {

/// Big-endian bytes of the low `len` bytes of v.
Bytes be_bytes(net::u128 v, unsigned len);
net::u128 from_be(const uint8_t* p, unsigned len);
/// Host-order u32 (ct state masks, ifindex), as the kernel registers hold them.
Bytes host_u32(uint32_t v);

/// An interval element of an address set: key = lo, key_end = hi (empty when lo == hi).
Element range_element(net::Family f, const net::Range& r);
/// Its inverse: the family comes from the key length.
/// The ranges of an address set's elements, merged.
net::RangeList ranges_of(const Set& s);
net::Range element_range(const Element& e);

/// One `proto . port-range : verdict` element of a concatenated interval vmap.
Element proto_port_element(uint8_t proto, uint16_t lo, uint16_t hi, Verdict v);

/// nft spelling of one key value ("192.0.2.1", "tcp", "echo-request", "5060").
std::string format_key(KeyType t, const uint8_t* p);
/// nft spelling of a whole element ("192.0.2.0/24", "tcp . 13000-19000 : goto svc_rtp").
std::string format_element(const Set& s, const Element& e);
std::string format_verdict(const Verdict& v);
/// A time left, rounded up to the second: "45s", "4m59s", "1h0m", "2d3h".
std::string format_duration(uint64_t ms);
/// nft's name of a rate's unit: 1 -> "second", 60 -> "minute", 3600 -> "hour", 86400 -> "day".
const char* rate_unit(uint64_t seconds);
/// "300", "300s", "5m", "1h", "1d", "1500ms" -> milliseconds, at most policy::kMaxTimeoutS.
/// Throws std::runtime_error naming the text (cut short) when it is not one or too long.
uint64_t parse_duration_ms(std::string_view s);

}  // namespace ivozfw::ruleset
