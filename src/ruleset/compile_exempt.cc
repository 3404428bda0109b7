// SPDX-License-Identifier: GPL-2.0-or-later
// Sources no guard applies to: the platform's own application servers, the operator's
// antiflood-trusted list, admin, and (when configured) every company's authorized ranges.
// companies.strict: SIP services accept new flows from those sources only.
// Carriers: on antiflood.carrier_services (where the trunks proxy listens) the carriers list
// skips the meter and the strict check, as the trunks proxy exempts them from pike; not
// GeoIP: a carrier address in a dropped country still falls through to the GeoIP drop.
#include <algorithm>

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

bool carrier_service(const policy::Policy& p, const policy::Service& s) {
    if (!p.antiflood || !is_public(s)) return false;
    const auto& v = p.antiflood->carrier_services;
    return std::find(v.begin(), v.end(), s.name) != v.end();
}

void exempt_rules(const policy::Policy& p, const policy::Service& s, std::vector<Rule>& out, bool strict_drop) {
    Verdict accept{Verdict::accept, {}};
    per_family(out, s.name + "/exempt", names::exempt, {accept});
    if (p.companies) per_family(out, s.name + "/company", names::companies, {accept});
    if (carrier_service(p, s)) {
        for (bool v6 : {false, true}) {
            std::vector<Stmt> st{nfproto_is(v6), saddr_in(v6, names::list_set(names::carriers, v6))};
            if (geoip_guards(p, s))
                st.push_back(Match{Match::not_in_set, {v6 ? Selector::ip6_saddr : Selector::ip_saddr}, {},
                                   names::list_set(names::geoip, v6)});
            st.push_back(accept);
            out.push_back(make_rule(s.name + (v6 ? "/carrier-v6" : "/carrier-v4"), std::move(st)));
        }
    }
    // Strict: SIP only from customers and the platform; everyone else stops here.
    if (strict_drop && companies_strict(p, s))
        out.push_back(make_rule(s.name + "/not-company", {CounterRef{kDropNotCompany}, Verdict{Verdict::drop, {}}}));
}

}  // namespace ivozfw::ruleset
