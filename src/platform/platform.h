// SPDX-License-Identifier: GPL-2.0-or-later
// The IvozProvider database as the source of every address list the platform keeps:
//   company ranges       kam_users_address (Companies.ipFilter = 1) + kam_trusted (wholesale)
//   application_servers  ApplicationServers.ip + ProxyUsers.ip + ProxyTrunks.ip
//   carriers             kam_trunks_address (ip_addr + mask, DDI providers) + CarrierServers
//                        (ip, else hostname: where the trunks proxy sends outbound calls)
// read in one consistent snapshot. Each address remembers the row it came from, so explain
// and status can say "application server 3 (asterisk-1)".
#pragma once

#include <string>
#include <vector>

#include "companies/companies.h"
#include "net/ip.h"

namespace ivozfw::platform {

/// The lists the platform fills, by their policy list name.
inline const char* const kApplicationServers = "application_servers";
inline const char* const kCarriers = "carriers";

struct Row {
    net::Prefix prefix;
    std::string origin;   // "application server 3 (asterisk-1)", "carrier address 12"
};

/// What to read: the company tables, the other lists, or both.
struct Parts {
    bool companies = true;
    bool lists = true;
};

struct Loaded {
    std::string source;             // "mysql:<file>"
    Parts parts;                    // what was read
    companies::Loaded companies;    // its warnings are the company rows'
    std::vector<Row> application_servers, carriers;
    std::vector<std::string> warnings;   // bad rows of the other tables
    /// What was not loaded although the row is fine (a carrier server named by host name):
    /// said, but no warning (the exit status stays 0).
    std::vector<std::string> notes;
    size_t bad_rows = 0;                 // rows skipped in those tables (companies: its own count)

    const std::vector<Row>& list(const std::string& name) const;
    /// The rows of a list that hold `a`, as their origins.
    std::vector<std::string> origins(const std::string& list, const net::Address& a) const;
};

/// Read "mysql:<option file>". Throws companies::SourceError (database unreachable, a table
/// or column missing): nothing may change then. A bad row is skipped with a warning naming
/// its table and id.
Loaded load(const std::string& source, Parts parts = {});

/// The policy's companies.source, whatever its kind: the database ("mysql:<credentials
/// file>") here, files and stdin by companies::load. Throws companies::SourceError.
companies::Loaded load_companies(const std::string& source);

net::AddressSet addresses(const std::vector<Row>& rows);

/// The address a row stands for, as Kamailio's permissions module matches it: `ip_addr`
/// with `mask` applied (IPv4); an IPv6 ip_addr is one address unless `text`
/// (source_address) holds an IPv6 prefix around it; no ip_addr: `text`. nullopt with *err
/// for a bad row; *note says when host bits were cleared. Any argument may be null (NULL).
std::optional<net::Prefix> row_address(const char* ip_addr, const char* mask, const char* text, std::string* err,
                                       std::string* note);

}  // namespace ivozfw::platform
