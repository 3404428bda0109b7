// SPDX-License-Identifier: GPL-2.0-or-later
// GeoIP: one interval set per family holding every address to drop (deny: the listed
// countries; allow: everything else), checked by the public services it guards.
#include <algorithm>
#include <stdexcept>

#include "ruleset/features.h"

namespace ivozfw::ruleset {

bool geoip_guards(const policy::Policy& p, const policy::Service& s) {
    if (!p.geoip || !is_public(s)) return false;
    const auto& only = p.geoip->services;
    return only.empty() || std::find(only.begin(), only.end(), s.name) != only.end();
}

void geoip_objects(const policy::Policy& p, const Sources& src, Table& t) {
    if (!p.geoip) return;
    if (!src.geoip_drop) throw std::logic_error("compile: the GeoIP database was not read");
    put_counter(t, names::drop_geoip, "source country dropped by GeoIP");
    put_set(t, address_set(names::list_set(names::geoip, false), false, src.geoip_drop->v4));
    put_set(t, address_set(names::list_set(names::geoip, true), true, src.geoip_drop->v6));
}

void geoip_rules(const policy::Policy& p, const policy::Service& s, std::vector<Rule>& out) {
    if (!geoip_guards(p, s)) return;
    per_family(out, s.name + "/geoip", names::geoip,
               {CounterRef{names::drop_geoip}, Verdict{Verdict::drop, {}}});
}

}  // namespace ivozfw::ruleset
