// SPDX-License-Identifier: GPL-2.0-or-later
// What the compiled table does with one new packet, and why: `ivozfw explain`. Pure (no
// kernel, no files): the command reads the live table, the GeoIP country and the company
// source, and hands them in.
//
// It walks the compiled rules in their real order (prerouting, then the input chain, or the
// forward chain for a packet another table DNATs; the services map, the service chain) the
// way the kernel would for a new flow that does not come in on lo, and
// looks set membership up in the live kernel sets when given (bans, GeoIP, companies are
// the kernel's), else in the compiled ones. Dynamic meters (anti-flood rate, connection
// and media-flow counts) depend on traffic, not on the source: they are reported as
// "metered", and a packet under the limit passes them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "companies/companies.h"
#include "platform/platform.h"
#include "net/ip.h"
#include "policy/policy.h"
#include "ruleset/model.h"

namespace ivozfw::explain {

struct Packet {
    net::Address src;
    policy::Proto proto = policy::Proto::udp;
    uint16_t port = 0;   // the port it was sent to (before any DNAT)
    /// Another table DNATs it to a container, VM or namespace: after prerouting it meets the
    /// forward hook, not input.
    bool forwarded = false;
};

struct Context {
    const policy::Policy* policy = nullptr;
    /// The compiled table (typed rules): its rule order is what gets walked.
    const ruleset::Table* compiled = nullptr;
    /// The live kernel table, when loaded: its sets decide membership.
    const ruleset::Table* live = nullptr;
    /// GeoIP country of the source ("" unknown), and the database it came from.
    std::optional<std::string> country;
    std::string geoip_database;
    /// The company source as loaded (which company owns a range); may be null.
    const companies::Loaded* companies = nullptr;
    /// The platform database's rows (which application server, proxy or carrier an address
    /// is); may be null.
    const platform::Loaded* platform = nullptr;
    /// Wall clock (seconds since the epoch) for "banned until HH:MM:SS"; 0 = leave it out.
    int64_t now_s = 0;
};

struct Step {
    std::string chain;        // "input", "forward", "svc_sip"
    std::string rule;         // rule id ("sip/geoip-v4"), or "map services", "policy"
    std::string text;         // what was checked and what came out
    std::string decided_by;   // set / list / rule / counter that decides, for this step
    bool matched = false;     // the rule matched (its verdict or effect applies)
};

struct Result {
    bool accepted = false;
    std::string reason;       // drop reason: "not_exposed", "not_allowed", "geoip", "banned",
                              // "not_company", "invalid", "policy"; "" when accepted
    std::string counter;      // counter the drop is counted in ("drop_geoip"), if any
    std::string decided_by;   // the rule id that gave the final verdict
    std::string summary;      // one line: "DROPPED: country CN is denied by GeoIP (set geoip_v4)"
    std::string service;      // service the port belongs to ("" not exposed)
    bool live_sets = false;   // membership came from the live kernel
    std::vector<Step> steps;
};

Result explain(const Context& c, const Packet& p);

/// "udp/5060" -> proto and port; nullopt when it does not parse.
std::optional<std::pair<policy::Proto, uint16_t>> parse_proto_port(const std::string& s);

}  // namespace ivozfw::explain
