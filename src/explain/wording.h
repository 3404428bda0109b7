// SPDX-License-Identifier: GPL-2.0-or-later
// What a source lookup means, in the platform's words: "source is exempt: in set exempt_v4
// via list admin", "a member of company 42 (Acme)'s authorized ranges", "banned (manual ban)
// for 2m5s". The walk (explain.cc) decides; this says it.
#pragma once

#include <string>

#include "explain/explain.h"

namespace ivozfw::explain {

/// "geoip_v4" -> "geoip": the list or feature a per-family set belongs to.
std::string base_of(const std::string& set);

struct Wording {
    const Context& c;
    const net::Address& src;

    /// "application_servers: application server 3 (asterisk-1)" when the database row is known.
    std::string list_with_rows(const std::string& l) const;
    /// The exempt lists that hold the source, with their rows.
    std::string exempt_lists() const;
    /// "company 42 (Acme)" for each company whose ranges hold the source.
    std::string company_of() const;
    /// "country CN by the GeoIP database ..."; "" without GeoIP.
    std::string country() const;
    /// The text for `saddr @name`, and in *decided what decides it.
    std::string membership(const std::string& name, bool in, const ruleset::Element* e, bool from_live,
                           std::string* decided) const;
};

}  // namespace ivozfw::explain
