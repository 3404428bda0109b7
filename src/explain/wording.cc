// SPDX-License-Identifier: GPL-2.0-or-later
#include "explain/wording.h"

#include <fmt/format.h>

#include <ctime>

#include "ruleset/values.h"

namespace ivozfw::explain {

using namespace ruleset;
using policy::kExemptLists;

std::string base_of(const std::string& set) {
    if (set.size() > 3 && (set.ends_with("_v4") || set.ends_with("_v6"))) return set.substr(0, set.size() - 3);
    return set;
}

std::string Wording::list_with_rows(const std::string& l) const {
    if (!c.platform) return l;
    auto rows = c.platform->origins(l, src);
    return rows.empty() ? l : fmt::format("{}: {}", l, fmt::join(rows, ", "));
}

std::string Wording::exempt_lists() const {
    std::vector<std::string> in;
    for (const char* l : kExemptLists) {
        auto it = c.policy->lists.find(l);
        if (it != c.policy->lists.end() && it->second.contains(src)) in.push_back(list_with_rows(l));
    }
    return in.empty() ? "" : fmt::format("{}", fmt::join(in, ", "));
}

std::string Wording::company_of() const {
    if (!c.companies) return "";
    std::vector<std::string> who;
    for (const auto& [id, co] : c.companies->companies)
        if (co.loaded() && co.ranges.contains(src))
            who.push_back(fmt::format("company {}{}", id, co.name.empty() ? "" : " (" + co.name + ")"));
    return who.empty() ? "" : fmt::format("{}", fmt::join(who, ", "));
}

std::string Wording::country() const {
    if (!c.country) return "";
    std::string cc = c.country->empty() ? "unknown" : *c.country;
    return "country " + cc + (c.geoip_database.empty() ? "" : " by the GeoIP database " + c.geoip_database);
}

// Membership text for `saddr @set`, domain words where ivozfw knows what the set is.
std::string Wording::membership(const std::string& name, bool in, const Element* e, bool from_live,
                       std::string* decided) const {
    std::string base = base_of(name);
    std::string where = (c.live && !from_live) ? " (compiled set: not in the live table)" : "";
    *decided = "set " + name;
    if (base == "exempt") {
        if (!in)
            return fmt::format("source is not in {} ({})", name, fmt::join(kExemptLists, ", ")) + where;
        auto l = exempt_lists();
        if (!l.empty()) *decided = "list " + l;
        return fmt::format("source is exempt: in set {}{}", name, l.empty() ? "" : " via list " + l) + where;
    }
    if (base == "companies") {
        if (!in) return "source is in no company's authorized ranges (set " + name + ")" + where;
        auto co = company_of();
        if (!co.empty()) *decided = co + "'s ranges";
        return fmt::format("source is a member of {}'s authorized ranges (set {})",
                           co.empty() ? "a company" : co, name) + where;
    }
    if (base == "geoip") {
        auto cc = country();
        std::string mode;
        if (c.policy->geoip)
            mode = fmt::format("{} {}", c.policy->geoip->mode == policy::GeoIP::Mode::deny ? "deny" : "allow",
                               fmt::join(c.policy->geoip->countries, ","));
        if (!in) return fmt::format("{}{}not in the GeoIP drop set {} (mode {}): passes", cc,
                                    cc.empty() ? "" : ", ", name, mode) + where;
        return fmt::format("{}{}in the GeoIP drop set {} (mode {})", cc, cc.empty() ? "" : ": ", name, mode) + where;
    }
    if (base == "ban") {
        if (!in) return "source is not banned (set " + name + ")" + where;
        std::string until;
        if (e && e->expires_ms()) {
            until = " for " + ruleset::format_duration(*e->expires_ms());
            if (c.now_s) {
                std::time_t t = c.now_s + std::time_t((*e->expires_ms() + 999) / 1000);
                char buf[16];
                std::strftime(buf, sizeof buf, "%H:%M:%S", std::localtime(&t));
                until += std::string(" (until ") + buf + ")";
            }
        }
        std::string how = e && !e->comment().empty() ? " (" + e->comment() + " ban)" : " by anti-flood";
        return fmt::format("source is banned{}{}: in set {}", how, until, name) + where;
    }
    if (c.policy->lists.count(base)) {
        std::string l = in ? list_with_rows(base) : base;
        *decided = "list " + l;
        return fmt::format("source is {}in list {} (set {})", in ? "" : "not ", l, name) + where;
    }
    return fmt::format("source is {}in set {}", in ? "" : "not ", name) + where;
}

}  // namespace ivozfw::explain
