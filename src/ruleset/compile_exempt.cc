// SPDX-License-Identifier: GPL-2.0-or-later
// Sources no guard applies to: the platform's own application servers, the operator's
// antiflood-trusted list, admin, and (when configured) every company's authorized ranges.
// companies.strict: SIP services accept new flows from those sources only.
#include "ruleset/features.h"

namespace ivozfw::ruleset {

namespace {
using policy::kExemptLists;
const char* const kDropNotCompany = "drop_not_company";
}

bool companies_strict(const policy::Policy& p, const policy::Service& s) {
    return p.companies && p.companies->strict && is_public(s) && policy::is_sip(s);
}

void exempt_objects(const policy::Policy& p, const Sources& src, Table& t) {
    net::AddressSet all;
    for (const char* name : kExemptLists) {
        auto it = p.lists.find(name);
        if (it == p.lists.end()) continue;
        for (const auto& r : it->second.v4) all.add(net::Family::v4, r);
        for (const auto& r : it->second.v6) all.add(net::Family::v6, r);
    }
    all.normalize();
    put_set(t, address_set(names::list_set(names::exempt, false), false, all.v4));
    put_set(t, address_set(names::list_set(names::exempt, true), true, all.v6));
    if (!p.companies) return;
    if (p.companies->strict) put_counter(t, kDropNotCompany, "SIP source outside company ranges (companies.strict)");
    net::AddressSet companies = src.companies.value_or(net::AddressSet{});
    put_set(t, address_set(names::list_set(names::companies, false), false, companies.v4));
    put_set(t, address_set(names::list_set(names::companies, true), true, companies.v6));
}

void exempt_rules(const policy::Policy& p, const policy::Service& s, std::vector<Rule>& out) {
    Verdict accept{Verdict::accept, {}};
    per_family(out, s.name + "/exempt", names::exempt, {accept});
    if (p.companies) per_family(out, s.name + "/company", names::companies, {accept});
    // Strict: SIP only from customers and the platform; everyone else stops here.
    if (companies_strict(p, s))
        out.push_back(make_rule(s.name + "/not-company", {CounterRef{kDropNotCompany}, Verdict{Verdict::drop, {}}}));
}

}  // namespace ivozfw::ruleset
