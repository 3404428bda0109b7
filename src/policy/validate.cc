// SPDX-License-Identifier: GPL-2.0-or-later
// From a parsed document to a Policy, one section at a time. Sections that refer to others
// (services -> lists, geoip/antiflood -> services) are read after what they refer to.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cctype>
#include <set>

#include "input/quote.h"
#include "policy/reader.h"

namespace ivozfw::policy::detail {

namespace {

const Json* member(const Json& obj, const char* key) {
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
}

using input::quote_short;

std::vector<std::string> list_names(const Policy& p) {
    std::vector<std::string> names;
    for (const auto& [name, set] : p.lists) names.push_back(name);
    return names;
}

std::vector<std::string> service_names(const Policy& p) {
    std::vector<std::string> names;
    for (const auto& s : p.services) names.push_back(s.name);
    return names;
}

// ---- small value syntaxes ----------------------------------------------------------------

std::optional<uint64_t> parse_digits(std::string_view s) {
    if (s.empty() || s.size() > 9) return std::nullopt;
    uint64_t n = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + uint64_t(c - '0');
    }
    return n;
}

std::string port_error(uint64_t v) { return std::to_string(v) + " is not a port (1-65535)"; }

std::optional<PortRange> read_port(Reader& r, const Json& j, const std::string& path) {
    if (j.is_number_integer()) {
        if (!j.is_number_unsigned() || j.get<uint64_t>() < 1 || j.get<uint64_t>() > 65535) {
            r.error(path, j.dump() + " is not a port (1-65535)");
            return std::nullopt;
        }
        auto port = j.get<uint16_t>();
        return PortRange{port, port};
    }
    if (!j.is_string()) {
        r.error(path, "expected a port or a \"lo-hi\" range, got " + describe(j));
        return std::nullopt;
    }
    auto s = j.get<std::string>();
    size_t dash = s.find('-');
    auto lo = parse_digits(std::string_view(s).substr(0, dash));
    auto hi = dash == s.npos ? std::nullopt : parse_digits(std::string_view(s).substr(dash + 1));
    if (!lo || !hi) {
        r.error(path, quote_short(s) + " is not a port range (\"lo-hi\", e.g. \"13000-19000\")");
        return std::nullopt;
    }
    for (uint64_t v : {*lo, *hi})
        if (v < 1 || v > 65535) {
            r.error(path, quote_short(s) + ": " + port_error(v));
            return std::nullopt;
        }
    if (*lo > *hi) {
        r.error(path, quote_short(s) + " is a reversed range: did you mean \"" + std::to_string(*hi) +
                          "-" + std::to_string(*lo) + "\"?");
        return std::nullopt;
    }
    return PortRange{uint16_t(*lo), uint16_t(*hi)};
}




/// An array of names that must each be one of `known` (what `kind` calls them).
std::vector<std::string> read_refs(Reader& r, const Json& j, const std::string& path,
                                   const std::vector<std::string>& known, const char* kind) {
    std::vector<std::string> out;
    if (!r.is_array(j, path)) return out;
    for (size_t i = 0; i < j.size(); ++i) {
        auto name = r.string(j[i], index_path(path, i));
        if (!name) continue;
        if (std::find(known.begin(), known.end(), *name) == known.end())
            r.error(index_path(path, i), std::string("undefined ") + kind + " " + quote_short(*name) +
                                             did_you_mean(*name, known));
        else if (std::find(out.begin(), out.end(), *name) != out.end())
            r.warn(index_path(path, i), std::string(kind) + " " + quote_short(*name) + " is listed twice");
        else
            out.push_back(*name);
    }
    return out;
}

// ---- sections ----------------------------------------------------------------------------

void read_table(Reader& r, const Json& j, Policy& p) {
    auto name = r.string(j, "table");
    if (!name) return;
    if (valid_name(*name, 31, false, true)) p.table = *name;
    else r.error("table", quote_short(*name) + " is not a valid table name ([a-z][a-z0-9_], at most 31 characters)");
}

void read_list(Reader& r, const ListItems& items, const std::string& path, net::AddressSet& out) {
    // Duplicates found by sorting (a list may hold 10^5 entries: no tree of them), reported
    // in the order they were written, each after its first occurrence.
    struct Entry {
        net::Family family;
        net::Range range;
        size_t index;
    };
    std::vector<Entry> entries;
    entries.reserve(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
        if (auto o = items.others.find(i); o != items.others.end()) {   // not a string: reported
            r.string(o->second, index_path(path, i));
            continue;
        }
        std::string err;   // the path is built only for a message: 10^5 entries
        auto prefix = net::parse_prefix(items.text(i), &err);
        if (!prefix) {
            r.error(index_path(path, i), err);
            continue;
        }
        entries.push_back({prefix->addr.family, prefix->range(), i});
        if (prefix->len == 0)
            r.warn(index_path(path, i), quote_short(items.text(i)) + " is every address: whatever this list allows "
                                                                     "or exempts, it does for the whole Internet");
        else if (prefix->addr.family == net::Family::v6 && prefix->len >= 96 &&
                 (prefix->addr.value >> 32) == 0xffff)   // ::ffff:0:0/96
            r.warn(index_path(path, i), quote_short(items.text(i)) + " is an IPv4-mapped IPv6 address: IPv4 packets "
                                                                     "never match it; write the IPv4 address");
    }
    // By value, then position: a duplicate comes right after its first occurrence, and the
    // ranges come out in order for normalize.
    auto value = [](const Entry& e) { return std::tie(e.family, e.range.lo, e.range.hi); };
    std::sort(entries.begin(), entries.end(), [&](const Entry& a, const Entry& b) {
        return std::tie(a.family, a.range.lo, a.range.hi, a.index) < std::tie(b.family, b.range.lo, b.range.hi, b.index);
    });
    // Sized once: 10^5 ranges grown by doubling would hold up to twice their size.
    size_t v4 = std::count_if(entries.begin(), entries.end(), [](const Entry& e) { return e.family == net::Family::v4; });
    out.v4.reserve(out.v4.size() + v4);
    out.v6.reserve(out.v6.size() + entries.size() - v4);
    std::vector<size_t> dups;
    for (size_t k = 0; k < entries.size(); ++k) {
        if (k && value(entries[k]) == value(entries[k - 1])) dups.push_back(entries[k].index);
        else (entries[k].family == net::Family::v4 ? out.v4 : out.v6).push_back(entries[k].range);
    }
    std::sort(dups.begin(), dups.end());
    for (size_t i : dups) r.warn(index_path(path, i), "duplicate entry " + quote_short(items.text(i)));
    out.normalize();
}

void read_lists(Reader& r, const Parsed& doc, Policy& p) {
    for (const char* name : kBuiltinLists) p.lists[name];
    const Json* j = member(doc.root, "lists");
    if (!j || !r.is_object(*j, "lists")) return;
    for (const auto& [name, entries] : j->items()) {
        std::string path = child_path("lists", name);
        if (!valid_name(name, 25, false, true)) {
            r.error(path, "invalid list name: use [a-z][a-z0-9_], at most 25 characters");
            continue;
        }
        if (!r.is_array(entries, path)) continue;
        auto it = doc.lists.find(name);   // the parser keeps every list array's entries
        if (it != doc.lists.end()) read_list(r, it->second, path, p.lists[name]);
    }
}

void read_service(Reader& r, const Json& j, const std::string& path, Service& s,
                  const std::vector<std::string>& lists) {
    if (!r.is_object(j, path)) return;
    r.known_keys(j, path, {"tcp", "udp", "from"});
    for (auto [key, ports] : {std::pair{"tcp", &s.tcp}, std::pair{"udp", &s.udp}}) {
        auto it = j.find(key);
        if (it == j.end() || !r.is_array(*it, child_path(path, key))) continue;
        for (size_t i = 0; i < it->size(); ++i)
            if (auto pr = read_port(r, (*it)[i], index_path(child_path(path, key), i)))
                ports->push_back(*pr);
    }
    bool has_ports = (j.contains("tcp") && !j["tcp"].empty()) || (j.contains("udp") && !j["udp"].empty());
    if (!has_ports) r.error(path, "no ports: give \"tcp\" and/or \"udp\"");
    if (auto it = j.find("from"); it != j.end()) {
        // An empty "from" reads as "nobody" but the model says "everyone": refuse to guess.
        if (it->is_array() && it->empty())
            r.error(child_path(path, "from"),
                    "must name at least one list (leave \"from\" out to allow everyone)");
        s.from = read_refs(r, *it, child_path(path, "from"), lists, "list");
    }
}

void read_services(Reader& r, const Json* j, Policy& p) {
    if (!j || !r.is_object(*j, "services")) return;
    auto lists = list_names(p);
    for (const auto& [name, body] : j->items()) {
        std::string path = child_path("services", name);
        if (!valid_name(name, 25, true, false)) {
            r.error(path, "invalid service name: use [a-z][a-z0-9-], at most 25 characters");
            continue;
        }
        Service s{name, {}, {}, {}};
        read_service(r, body, path, s, lists);
        p.services.push_back(std::move(s));
    }
}


/// ssh from an empty admin list is the classic way to lose a remote host.
void check_lockout(Reader& r, const Policy& p) {
    for (const auto& s : p.services) {
        if (s.from.empty()) continue;
        bool all_empty = std::all_of(s.from.begin(), s.from.end(),
                                     [&](const std::string& l) { return p.lists.at(l).empty(); });
        if (!all_empty) continue;
        std::string names;
        for (const auto& l : s.from) names += (names.empty() ? "" : ", ") + l;
        r.warn("services." + s.name, "only reachable from empty list(s) " + names +
                                         ": you will lock yourself out of " + s.name);
    }
}

void read_icmp(Reader& r, const Json* j, Policy& p) {
    if (!j || !r.is_object(*j, "icmp")) return;
    r.known_keys(*j, "icmp", {"echo_rate", "echo_burst"});
    if (auto it = j->find("echo_rate"); it != j->end())
        if (auto v = r.integer(*it, "icmp.echo_rate", 0, 1000000)) {
            // The kernel refuses a limit of 0 per second (it divides by the rate).
            if (*v == 0) r.error("icmp.echo_rate", "0 is not a rate (must be >= 1)");
            else p.icmp.echo_rate = *v;
        }
    // 0 would be stored as 5 by the kernel (NFT_LIMIT_PKT_BURST_DEFAULT): never in sync.
    r.read(*j, "icmp", "echo_burst", p.icmp.echo_burst, 1, 1000000);
}

void read_countries(Reader& r, const Json& j, GeoIP& g) {
    const std::string path = "geoip.countries";
    if (!r.is_array(j, path)) return;
    if (j.empty()) r.error(path, "must list at least one country");
    for (size_t i = 0; i < j.size(); ++i) {
        auto cc = r.string(j[i], index_path(path, i));
        if (!cc) continue;
        std::string upper = *cc;
        for (char& c : upper) c = (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : c;
        if (!is_country_code(upper))
            r.error(index_path(path, i), quote_short(*cc) + " is not an ISO 3166-1 alpha-2 country code");
        else if (std::find(g.countries.begin(), g.countries.end(), upper) != g.countries.end())
            r.warn(index_path(path, i), "country " + quote_short(upper) + " is listed twice");
        else
            g.countries.push_back(upper);
    }
}


void read_geoip(Reader& r, const Json* j, Policy& p) {
    if (!j || !r.is_object(*j, "geoip")) return;
    const std::string path = "geoip";
    r.known_keys(*j, path, {"database", "mode", "countries", "services", "max_shrink_percent", "field"});
    GeoIP g;
    read_path(r, *j, path, "database", g.database);
    if (auto it = j->find("mode"); it != j->end()) {
        auto mode = r.string(*it, "geoip.mode");
        if (mode == "allow") g.mode = GeoIP::Mode::allow;
        else if (mode && mode != "deny") r.error("geoip.mode", quote_short(*mode) + " is not \"deny\" or \"allow\"");
    }
    if (auto* c = r.required(*j, path, "countries")) read_countries(r, *c, g);
    if (auto it = j->find("services"); it != j->end())
        g.services = read_refs(r, *it, "geoip.services", service_names(p), "service");
    r.read(*j, path, "max_shrink_percent", g.max_shrink_percent, 0, 100);
    r.read(*j, path, "field", g.field);
    p.geoip = std::move(g);
}

// Carriers (the trunks proxy's kam_trunks_address) skip the meter where the trunks proxy
// listens: by default the metered services named sip-trunks*.
void read_carrier_services(Reader& r, const Json& j, const Policy& p, Antiflood& a) {
    const std::string path = "antiflood.carrier_services";
    if (auto it = j.find("carrier_services"); it != j.end()) {
        a.carrier_services = read_refs(r, *it, path, service_names(p), "service");
        for (const auto& s : a.carrier_services)
            if (std::find(a.services.begin(), a.services.end(), s) == a.services.end())
                r.warn(path, "service " + quote_short(s) + " is not in antiflood.services: nothing to exempt carriers from");
        return;
    }
    for (const auto& s : a.services)
        if (s.starts_with("sip-trunks")) a.carrier_services.push_back(s);
}

void read_antiflood(Reader& r, const Json* j, Policy& p) {
    if (!j || !r.is_object(*j, "antiflood")) return;
    const std::string path = "antiflood";
    r.known_keys(*j, path, {"services", "rate", "burst", "ban", "tcp_new_connections",
                            "max_connections_per_source", "ipv6_prefix", "max_tracked_sources",
                            "carrier_services", "service_rate", "service_burst", "service_new_connections",
                            "conntrack_udp"});
    Antiflood a;
    if (auto it = j->find("services"); it != j->end()) {
        if (it->is_array() && it->empty())
            r.error("antiflood.services", "must name at least one service (leave it out to meter the SIP services)");
        a.services = read_refs(r, *it, "antiflood.services", service_names(p), "service");
        for (const auto& s : p.services)
            if (!s.from.empty() && std::find(a.services.begin(), a.services.end(), s.name) != a.services.end())
                r.warn("antiflood.services", "service " + quote_short(s.name) +
                                                 " is restricted by \"from\": anti-flood meters public services only");
    } else {
        // Left out: meter what floods come at, the public SIP services. None at all would
        // compile meters that meter nothing, so that is an error rather than a silent no-op.
        a.default_services = true;
        for (const auto& s : p.services)
            if (s.from.empty() && is_sip(s)) a.services.push_back(s.name);
        if (a.services.empty())
            r.error(path, "no \"services\" given and no public SIP service (named sip*) to meter by default: "
                          "list the services to meter");
    }
    if (auto it = j->find("rate"); it != j->end())
        if (auto rate = read_rate(r, *it, "antiflood.rate")) std::tie(a.rate, a.rate_unit_s) = *rate;
    if (auto it = j->find("tcp_new_connections"); it != j->end())
        if (auto rate = read_rate(r, *it, "antiflood.tcp_new_connections"))
            std::tie(a.tcp_new_rate, a.tcp_new_unit_s) = *rate;
    if (auto it = j->find("service_rate"); it != j->end())
        if (auto rate = read_rate(r, *it, "antiflood.service_rate")) std::tie(a.service_rate, a.service_unit_s) = *rate;
    if (auto it = j->find("service_new_connections"); it != j->end())
        if (auto rate = read_rate(r, *it, "antiflood.service_new_connections"))
            std::tie(a.service_tcp_rate, a.service_tcp_unit_s) = *rate;
    if (auto it = j->find("ban"); it != j->end())
        if (auto ban = read_duration(r, *it, "antiflood.ban")) a.ban_s = *ban;
    r.read(*j, path, "burst", a.burst, 1, UINT32_MAX);   // 0: the kernel stores 5
    r.read(*j, path, "max_connections_per_source", a.max_connections_per_source, 0, UINT32_MAX);
    r.read(*j, path, "ipv6_prefix", a.ipv6_prefix, 1, 128);
    r.read(*j, path, "max_tracked_sources", a.max_tracked_sources, 1, 16777216);
    r.read(*j, path, "service_burst", a.service_burst, 1, UINT32_MAX);
    if (auto it = j->find("conntrack_udp"); it != j->end())
        if (auto v = r.boolean(*it, "antiflood.conntrack_udp")) a.conntrack_udp = *v;
    check_refill(r, "antiflood.burst", a.rate, a.rate_unit_s, a.burst);
    if (a.service_rate * a.rate_unit_s < a.rate * a.service_unit_s)
        r.warn("antiflood.service_rate", "is below the per-source rate: one source alone can fill the service's cap");
    if (a.service_tcp_rate * a.tcp_new_unit_s < a.tcp_new_rate * a.service_tcp_unit_s)
        r.warn("antiflood.service_new_connections",
               "is below tcp_new_connections: one source alone can fill the service's cap");
    read_carrier_services(r, *j, p, a);
    p.antiflood = std::move(a);
}

}  // namespace

/// "N/second|minute|hour" -> (N, unit in seconds).
std::optional<std::pair<uint64_t, uint64_t>> read_rate(Reader& r, const Json& j,
                                                       const std::string& path) {
    auto s = r.string(j, path);
    if (!s) return std::nullopt;
    size_t slash = s->find('/');
    auto n = parse_digits(std::string_view(*s).substr(0, slash));
    std::string unit = slash == s->npos ? "" : s->substr(slash + 1);
    uint64_t unit_s = unit == "second" ? 1 : unit == "minute" ? 60 : unit == "hour" ? 3600 : 0;
    if (!n || unit_s == 0) {
        r.error(path, quote_short(*s) + " is not a rate (\"N/second\", \"N/minute\" or \"N/hour\")");
        return std::nullopt;
    }
    if (*n == 0) {
        r.error(path, quote_short(*s) + ": the rate must be at least 1");
        return std::nullopt;
    }
    return std::pair{*n, unit_s};
}

/// The kernel's limit keeps a token bucket of burst * (unit / rate) nanoseconds, and a meter
/// must remember a source until its bucket has refilled: both bound burst / rate.
void check_refill(Reader& r, const std::string& path, uint64_t rate, uint64_t unit_s, uint64_t burst) {
    uint64_t refill_s = (burst * unit_s + rate - 1) / std::max<uint64_t>(rate, 1);   // burst <= 2^32, unit <= 3600
    if (refill_s > kMaxTimeoutS)
        r.error(path, fmt::format("a burst of {} at {} per {}s takes {} days to refill; at most {} days (raise the "
                                  "rate or lower the burst)",
                                  burst, rate, unit_s, refill_s / 86400, kMaxTimeoutS / 86400));
}

/// "300s", "5m", "1h", "1d" -> seconds.
std::optional<uint64_t> read_duration(Reader& r, const Json& j, const std::string& path) {
    constexpr uint64_t kMax = 365 * 86400;
    auto s = r.string(j, path);
    if (!s) return std::nullopt;
    char unit = s->empty() ? 0 : s->back();
    uint64_t mult = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 0;
    auto n = mult ? parse_digits(std::string_view(*s).substr(0, s->size() - 1)) : std::nullopt;
    if (!n) {
        r.error(path, quote_short(*s) + " is not a duration (e.g. \"300s\", \"5m\", \"1h\", \"1d\")");
        return std::nullopt;
    }
    if (*n * mult < 1 || *n * mult > kMax) {
        r.error(path, quote_short(*s) + " is out of range (1s-365d)");
        return std::nullopt;
    }
    return *n * mult;
}

/// A required, non-empty string naming a file or data source.
void read_path(Reader& r, const Json& obj, const std::string& path, const char* key, std::string& out) {
    const Json* v = r.required(obj, path, key);
    if (!v) return;
    r.read(obj, path, key, out);
    if (v->is_string() && out.empty()) r.error(child_path(path, key), "must not be empty");
}


Policy build(const Parsed& doc, Reader& r) {
    const Json& root = doc.root;
    Policy p;
    if (!r.is_object(root, "")) return p;
    r.known_keys(root, "", {"$schema", "description", "table", "lists", "services", "icmp", "geoip",
                            "antiflood", "companies", "platform", "fleet", "call_limit", "logging", "watch"});
    std::string ignored;
    r.read(root, "", "$schema", ignored);
    r.read(root, "", "description", ignored);
    if (auto* t = member(root, "table")) read_table(r, *t, p);
    read_lists(r, doc, p);
    read_services(r, member(root, "services"), p);
    check_port_overlaps(r, p);
    normalize_ports(p);
    check_lists_used(r, p);
    check_lockout(r, p);
    read_icmp(r, member(root, "icmp"), p);
    read_geoip(r, member(root, "geoip"), p);
    read_antiflood(r, member(root, "antiflood"), p);
    read_platform(r, member(root, "platform"), p);
    read_companies(r, member(root, "companies"), p);
    read_fleet(r, member(root, "fleet"), p);
    read_call_limit(r, member(root, "call_limit"), p);
    read_logging(r, member(root, "logging"), p);
    read_watch(r, member(root, "watch"), p);
    if (p.antiflood && p.antiflood->carrier_services.empty() && (p.platform || !p.lists["carriers"].empty()))
        r.warn("antiflood.carrier_services", "no service exempts the carriers from anti-flood (no metered service "
                                             "named sip-trunks*): list the services the trunks proxy listens on");
    return p;
}

}  // namespace ivozfw::policy::detail
