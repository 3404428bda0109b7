// SPDX-License-Identifier: GPL-2.0-or-later
// Company authorized IP ranges: read from a source (directory of JSON files, one JSON
// document, stdin, or the IvozProvider database) into per-company lists.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
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
    net::AddressSet ranges;        // normalised
    std::vector<std::string> raw;  // as written in the source, valid ones
};

struct Loaded {
    std::string source;                     // what was read, for reports
    std::map<uint64_t, Company> companies;  // only companies with ip_filter set contribute
    std::vector<std::string> warnings;      // bad rows: "company 42, row 7: ..."
    net::AddressSet all() const;            // merged union of every filtering company's ranges
};

/// Read `source` (the policy's companies.source unless overridden). Throws SourceError.
Loaded load(const std::string& source);

}  // namespace ivozfw::companies
