// SPDX-License-Identifier: GPL-2.0-or-later
// Internal to compile: each optional section of the policy adds its objects to the table
// and its guard rules to the chain of each public service it protects. A public service's
// chain is: exemptions, then every feature's guards in the order below, then accept.
#pragma once

#include "ruleset/compile.h"

namespace ivozfw::ruleset {

// Small builders shared by the feature files.
Match nfproto_is(bool v6);
Match saddr_in(bool v6, const std::string& set);
Rule make_rule(std::string id, std::vector<Stmt> stmts);
Set address_set(const std::string& name, bool v6, const net::RangeList& ranges);
void put_set(Table& t, Set s);
void put_counter(Table& t, const std::string& name, const std::string& comment);
/// Both families: `meta nfproto ipvX ip(6) saddr @<base>_vX <stmts...>`.
void per_family(std::vector<Rule>& out, const std::string& id, const std::string& set_base,
                const std::vector<Stmt>& stmts);

// Exemptions: application servers, antiflood-trusted, admin, company ranges.
void exempt_objects(const policy::Policy& p, const Sources& src, Table& t);
/// strict_drop false leaves out the companies.strict drop (a tracked flood chain: the
/// service chain drops them after `established`, so answers to the host's requests pass).
void exempt_rules(const policy::Policy& p, const policy::Service& s, std::vector<Rule>& out, bool strict_drop = true);
/// A public service in antiflood.carrier_services: the carriers list skips its meter.
bool carrier_service(const policy::Policy& p, const policy::Service& s);
/// companies.strict and a public SIP service (name starting with "sip").
bool companies_strict(const policy::Policy& p, const policy::Service& s);

void geoip_objects(const policy::Policy& p, const Sources& src, Table& t);
bool geoip_guards(const policy::Policy& p, const policy::Service& s);
void geoip_rules(const policy::Policy& p, const policy::Service& s, std::vector<Rule>& out);

void antiflood_objects(const policy::Policy& p, Table& t);
bool antiflood_guards(const policy::Policy& p, const policy::Service& s);
void antiflood_rules(const policy::Policy& p, const policy::Service& s, std::vector<Rule>& out);
/// Base chain prerouting and the flood_<service> chains: UDP metered before conntrack.
void antiflood_chains(const policy::Policy& p, Table& t);
/// Are this service's metered UDP ports untracked (flood chain notrack, output notrack)?
/// antiflood.conntrack_udp when given; else yes unless GeoIP or companies.strict filter the
/// service's sources: then an answer to the host's own request (an outbound carrier's)
/// must pass as established.
bool udp_untracked(const policy::Policy& p, const policy::Service& s);

/// Drop logging, applied last to the whole table (compile_logging.cc).
void logging_rules(const policy::Policy& p, Table& t);
namespace names {
std::string log_chain(const std::string& counter);   // drop_geoip -> "log_geoip"
}

}  // namespace ivozfw::ruleset
