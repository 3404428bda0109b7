// SPDX-License-Identifier: GPL-2.0-or-later
// MaxMind-format country databases: walk the search tree once and turn it into the minimal
// per-family interval lists of the countries asked for. The only file that includes
// <maxminddb.h>.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

#include "net/ip.h"

namespace ivozfw::geoip {

/// A database that can't be used: unreadable, corrupt, wrong type. what() names the file.
struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Info {
    std::string path;
    std::string type;          // metadata database_type, e.g. "GeoLite2-Country"
    uint64_t build_epoch = 0;
    unsigned ip_version = 0;   // 4 or 6
    uint32_t node_count = 0;
    std::string schema;        // field path that answered: "country.iso_code", "country_code", ...
};

struct Walk {
    Info info;
    net::AddressSet matched;       // the countries asked for, merged
    size_t networks_v4 = 0;        // data records seen (raw networks), per family
    size_t networks_v6 = 0;
    size_t matched_networks = 0;
    std::set<std::string> countries_seen;
};

/// Walk every network of the database at `path` once. `countries` are upper-case ISO codes.
/// `field` forces a record path ("country.iso_code"); empty = detect MaxMind's
/// country.iso_code / registered_country.iso_code or ip-location-db's country_code.
/// Aliases of the IPv4 subtree (::ffff:0:0/96, 2001::/32, 2002::/16) are skipped.
Walk walk(const std::string& path, const std::set<std::string>& countries, const std::string& field = {});

/// Country of one address ("" when the database has none); throws Error.
std::string lookup(const std::string& path, const net::Address& a, const std::string& field = {}, Info* info = nullptr);

/// Ranges GeoIP never drops: RFC 1918, loopback, link-local, CGNAT, ULA, multicast...
const net::AddressSet& special_purpose();

}  // namespace ivozfw::geoip
