// SPDX-License-Identifier: GPL-2.0-or-later
// Company authorized IP ranges: read from a source (directory of JSON files, one JSON
// document, stdin, or the IvozProvider database) into per-company lists.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "net/ip.h"
#include "policy/policy.h"

namespace ivozfw::companies {

/// The source could not be read at all (unreachable database, missing file, broken JSON).
/// Nothing may change in the kernel when this is thrown.
struct SourceError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Company {
    uint64_t id = 0;
    std::string name;
    bool ip_filter = true;
    /// kam_trusted rows (wholesale clients): their company's sources whatever ip_filter says.
    size_t trusted = 0;
    net::AddressSet ranges;        // normalised
    std::vector<std::string> raw;  // as written in the source (the network, for a database row)
    bool loaded() const { return ip_filter || trusted > 0; }
};

struct Loaded {
    std::string source;                     // what was read, for reports
    std::map<uint64_t, Company> companies;  // only loaded() companies contribute
    std::vector<std::string> warnings;      // bad rows: "company 42, row 7: ..."
    size_t skipped = 0;                     // rows skipped (a warning each)
    net::AddressSet all() const;            // merged union of every filtering company's ranges
    size_t range_count() const;             // valid rows of filtering companies
};

/// Exemptions from a data source (company ranges, platform rows) open the firewall: one row
/// may not be wider than a /8 (IPv4) or /32 (IPv6), and a whole source may not exempt more
/// addresses than one such row would. "" when fine, else why not.
std::string too_wide(const net::Prefix& p);
/// Throws SourceError naming `what` ("the company source ...") when `all` exceeds the cap.
void check_total(const net::AddressSet& all, const std::string& what);

/// Read `source`: "-" is stdin, anything else a directory of *.json files or one JSON file.
/// Throws SourceError. (The IvozProvider database, "mysql:<credentials file>", is the
/// platform's: platform::load_companies reads every kind.)
Loaded load(const std::string& source);

// The sources, callable on their own (tests, benchmarks).
Loaded load_path(const std::string& path);
Loaded load_stdin();
/// One JSON document: a company object, an array of them, or {"companies": [...]}.
/// `origin` names it in messages.
Loaded parse_document(std::string_view text, const std::string& origin);

/// Add one row of a company's source: a CIDR or a bare address. A bad row becomes a
/// warning naming the company, the row number and `where` (the database id, the file...).
void add_row(Loaded& l, Company& c, size_t row, const std::string& where, std::string_view text);

}  // namespace ivozfw::companies
