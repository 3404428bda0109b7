// SPDX-License-Identifier: GPL-2.0-or-later
// What the one evaluator (explain/) needs to judge a packet, built the same way for every
// command that states a verdict: explain, geoip lookup, the lockout guard.
#pragma once

#include <string>
#include <vector>

#include "cli/desired.h"
#include "explain/explain.h"

namespace ivozfw::cli {

/// `d` compiled; `sets` the table whose set contents decide (the live kernel's, or the table
/// a batch is about to produce); null = the compiled sets. A failed GeoIP lookup only loses
/// the country's name (the sets decide), and is added to `notes` when given.
explain::Context explain_context(const Desired& d, const ruleset::Table* sets, const net::Address& src,
                                 std::vector<std::string>* notes = nullptr);

/// One packet per exposed service (its first port per protocol).
std::vector<explain::Packet> service_packets(const policy::Policy& p, const net::Address& src,
                                            bool forwarded = false);

}  // namespace ivozfw::cli
