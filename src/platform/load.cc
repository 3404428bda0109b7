// SPDX-License-Identifier: GPL-2.0-or-later
#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cstring>

#include "db/mysql.h"
#include "input/quote.h"
#include "platform/platform.h"

namespace ivozfw::platform {

namespace {

// Only filtering companies' rows (LEFT JOIN: a filtering company without rows still shows).
constexpr const char* kCompanyRows =
    "SELECT c.id, c.name, a.id, a.source_address, a.ip_addr, a.mask FROM Companies c "
    "LEFT JOIN kam_users_address a ON a.companyId = c.id WHERE c.ipFilter = 1 ORDER BY c.id, a.id";
// Wholesale clients: trusted by the users proxy whatever ipFilter says.
constexpr const char* kTrustedRows =
    "SELECT t.id, t.companyId, c.name, t.src_ip FROM kam_trusted t "
    "LEFT JOIN Companies c ON c.id = t.companyId ORDER BY t.id";
constexpr const char* kApplicationServerRows = "SELECT id, ip, name FROM ApplicationServers ORDER BY id";
constexpr const char* kUsersProxyRows = "SELECT id, ip FROM ProxyUsers ORDER BY id";
constexpr const char* kTrunksProxyRows = "SELECT id, ip FROM ProxyTrunks ORDER BY id";
constexpr const char* kCarrierRows = "SELECT id, ip_addr, mask, grp FROM kam_trunks_address ORDER BY id";
constexpr const char* kCarrierServerRows = "SELECT id, ip, hostname, carrierId FROM CarrierServers ORDER BY id";

// Row text is shown in terminals and the journal: never with its control characters.
std::string text(const char* s) { return s ? input::printable(s) : ""; }

std::string trimmed(const char* s) {
    std::string_view v = s ? s : "";
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r' || v.back() == '\n'))
        v.remove_suffix(1);
    return std::string(v);
}

uint64_t to_id(const char* s) {
    uint64_t v = 0;
    if (s) std::from_chars(s, s + std::strlen(s), v);
    return v;
}

// A DNS name as a host name may be written: letters, digits, '-' and '.', one letter at least.
bool host_name(const std::string& s) {
    if (s.empty() || s.size() > 253 || s.front() == '-' || s.front() == '.') return false;
    bool letter = false;
    for (char c : s) {
        if (std::isalpha(static_cast<unsigned char>(c))) letter = true;
        else if (!std::isdigit(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
    }
    return letter;
}

std::string named(const std::string& name) {
    if (name.empty()) return "";
    return " (" + (name.size() <= 60 ? name : input::quote_short(name)) + ")";
}

struct Reader {
    Loaded& l;
    db::Mysql& db;

    void skip(std::vector<std::string>& to, const std::string& where, const std::string& why) {
        to.push_back(fmt::format("{}: {}; row skipped", where, why));
        ++(&to == &l.companies.warnings ? l.companies.skipped : l.bad_rows);
    }

    void companies() {
        auto& c = l.companies;
        std::map<uint64_t, size_t> rows_seen;
        db.select("Companies/kam_users_address", kCompanyRows, [&](char** row) {
            uint64_t id = to_id(row[0]);
            auto [it, fresh] = c.companies.try_emplace(id);
            auto& co = it->second;
            if (fresh) co.id = id, co.name = text(row[1]);
            if (!row[2]) return;   // company without addresses
            size_t n = ++rows_seen[id];
            std::string where = fmt::format("company {}{}, row {} (kam_users_address.id={})", id, named(co.name), n,
                                            row[2]);
            add(co, where, row[4], row[5], row[3]);
        });
        db.select("kam_trusted", kTrustedRows, [&](char** row) {
            uint64_t id = to_id(row[1]);
            auto [it, fresh] = c.companies.try_emplace(id);
            auto& co = it->second;
            if (fresh) co.id = id, co.name = text(row[2]), co.ip_filter = false;
            std::string where = fmt::format("company {}{}, kam_trusted.id={}", id, named(co.name), text(row[0]));
            if (add(co, where, row[3], nullptr, nullptr)) ++co.trusted;
        });
        for (auto& [id, co] : c.companies) co.ranges.normalize();
    }

    bool add(companies::Company& co, const std::string& where, const char* ip, const char* mask, const char* text) {
        std::string err, note;
        auto p = row_address(ip, mask, text, &err, &note);
        if (!p) {
            skip(l.companies.warnings, where, err);
            return false;
        }
        if (!note.empty()) l.companies.warnings.push_back(where + ": " + note + ", as Kamailio applies the mask");
        co.ranges.add(*p);
        co.raw.push_back(net::format_range(p->addr.family, p->range()));
        return true;
    }

    // `row` is "ApplicationServers.id=4 (asterisk-2)": what a warning names.
    void single(std::vector<Row>& to, const std::string& row, const std::string& origin, const char* ip) {
        auto a = net::parse_address(trimmed(ip));
        if (!a) {
            skip(l.warnings, row, ip ? input::quote_short(trimmed(ip)) + " is not an IP address" : "ip is NULL");
            return;
        }
        to.push_back(Row{net::Prefix{*a, net::bits(a->family)}, origin});
    }

    void lists() {
        db.select("ApplicationServers", kApplicationServerRows, [&](char** row) {
            single(l.application_servers, fmt::format("ApplicationServers.id={}{}", text(row[0]), named(text(row[2]))),
                   fmt::format("application server {}{}", text(row[0]), named(text(row[2]))), row[1]);
        });
        db.select("ProxyUsers", kUsersProxyRows, [&](char** row) {
            single(l.application_servers, fmt::format("ProxyUsers.id={}", text(row[0])),
                   fmt::format("users proxy {}", text(row[0])), row[1]);
        });
        db.select("ProxyTrunks", kTrunksProxyRows, [&](char** row) {
            single(l.application_servers, fmt::format("ProxyTrunks.id={}", text(row[0])),
                   fmt::format("trunks proxy {}", text(row[0])), row[1]);
        });
        db.select("kam_trunks_address", kCarrierRows, [&](char** row) {
            std::string origin = fmt::format("carrier address {}", text(row[0]));
            std::string where = fmt::format("kam_trunks_address.id={}", text(row[0]));
            std::string err, note;
            auto p = row_address(row[1], row[2], nullptr, &err, &note);
            if (!p) return skip(l.warnings, where, err);
            if (!note.empty()) l.warnings.push_back(where + ": " + note + ", as Kamailio applies the mask");
            l.carriers.push_back(Row{*p, origin + (row[3] ? fmt::format(" (DDI provider {})", row[3]) : "")});
        });
        db.select("CarrierServers", kCarrierServerRows, [&](char** row) { carrier_server(row); });
    }

    // An outbound carrier: the trunks proxy (Kamailio's lcr, fed from this table) sends to
    // `ip`, the outbound proxy's address, when there is one, else to `hostname`, the host of
    // sipProxy; the answers come back from there. A host name is not resolved (what DNS
    // says at apply time is neither what Kamailio will use nor safe to exempt): a note says
    // that its answers are metered.
    void carrier_server(char** row) {
        std::string of = row[3] ? fmt::format(" (carrier {})", row[3]) : "";
        std::string where = fmt::format("CarrierServers.id={}{}", text(row[0]), of);
        std::string ip = trimmed(row[1]), host = trimmed(row[2]);
        std::string to = ip.empty() ? host : ip;
        if (to.empty()) return skip(l.warnings, where, "no address (ip and hostname empty or NULL)");
        if (auto a = net::parse_address(to)) {
            l.carriers.push_back(
                Row{net::Prefix{*a, net::bits(a->family)}, fmt::format("carrier server {}{}", text(row[0]), of)});
            return;
        }
        if (!ip.empty()) return skip(l.warnings, where, input::quote_short(ip) + " (ip) is not an IP address");
        if (!host_name(host))
            return skip(l.warnings, where, input::quote_short(host) + " (hostname) is neither an IP address nor a host name");
        l.notes.push_back(fmt::format("{}: {} (hostname) is a host name, not loaded: its answers to the trunks proxy "
                                      "are metered unless lists.carriers holds its addresses",
                                      where, input::quote_short(host)));
    }
};

}  // namespace

namespace {

std::optional<net::Prefix> parse_row(const char* ip_addr, const char* mask, const char* text, std::string* err,
                                     std::string* note) {
    std::string ip = trimmed(ip_addr);
    if (ip.empty()) {
        std::string t = trimmed(text);
        if (t.empty()) {
            *err = "no address (ip_addr and source_address empty or NULL)";
            return std::nullopt;
        }
        return net::parse_network(t, err, note);
    }
    auto a = net::parse_address(ip);
    if (!a) {
        *err = input::quote_short(ip) + " is not an IP address";
        return std::nullopt;
    }
    if (a->family == net::Family::v6) {
        std::string dummy;
        auto p = net::parse_network(trimmed(text), &dummy, note);
        if (p && p->addr.family == net::Family::v6 && p->range().lo <= a->value && a->value <= p->range().hi) return p;
        note->clear();
        return net::Prefix{*a, 128};
    }
    std::string m = trimmed(mask);
    if (m.empty()) m = "32";
    return net::parse_network(ip + "/" + m, err, note);
}

}  // namespace

std::optional<net::Prefix> row_address(const char* ip_addr, const char* mask, const char* text, std::string* err,
                                       std::string* note) {
    auto p = parse_row(ip_addr, mask, text, err, note);
    if (!p) return p;
    // An exemption this wide from one row would open the firewall to a large part of the
    // Internet: never loaded (Kamailio may match it; ivozfw will not fail open on it).
    if (auto wide = companies::too_wide(*p); !wide.empty()) {
        *err = wide;
        note->clear();
        return std::nullopt;
    }
    return p;
}

const std::vector<Row>& Loaded::list(const std::string& name) const {
    return name == kCarriers ? carriers : application_servers;
}

std::vector<std::string> Loaded::origins(const std::string& name, const net::Address& a) const {
    std::vector<std::string> out;
    if (name != kCarriers && name != kApplicationServers) return out;
    for (const auto& r : list(name)) {
        auto range = r.prefix.range();
        if (r.prefix.addr.family == a.family && range.lo <= a.value && a.value <= range.hi) out.push_back(r.origin);
    }
    return out;
}

net::AddressSet addresses(const std::vector<Row>& rows) {
    net::AddressSet out;
    for (const auto& r : rows) out.add(r.prefix);
    out.normalize();
    return out;
}

Loaded load(const std::string& source, Parts parts) {
    if (!source.starts_with("mysql:")) throw companies::SourceError(source + ": not \"mysql:<credentials file>\"");
    Loaded l;
    l.source = source;
    l.parts = parts;
    try {
        db::Mysql db(source.substr(6));
        // One snapshot for every table: a portal edit halfway through is all in or all out.
        db.exec("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", "starting a read-only snapshot");
        Reader r{l, db};
        if (parts.companies) r.companies();
        if (parts.lists) r.lists();
        db.exec("COMMIT");
    } catch (const db::Error& e) {
        throw companies::SourceError(e.what());
    }
    l.companies.source = source;
    // And all rows together: many rows just under the per-row cap open as much.
    companies::check_total(l.companies.all(), "the companies of " + source);
    auto lists = addresses(l.application_servers);
    for (const auto& r : l.carriers) lists.add(r.prefix);
    lists.normalize();
    companies::check_total(lists, "the application servers and carriers of " + source);
    return l;
}

companies::Loaded load_companies(const std::string& source) {
    if (!source.starts_with("mysql:")) return companies::load(source);
    return load(source, Parts{true, false}).companies;
}

}  // namespace ivozfw::platform
