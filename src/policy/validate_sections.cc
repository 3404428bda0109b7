// SPDX-License-Identifier: GPL-2.0-or-later
// The policy sections that connect ivozfw to the rest of the platform: the database
// (platform, companies), the fleet's Redis, call limits, drop logging and watch.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "input/quote.h"
#include "policy/reader.h"

namespace ivozfw::policy::detail {

using input::quote_short;

namespace {

std::optional<Fleet::Endpoint> read_endpoint(Reader& r, const std::string& path, std::string_view text) {
    Fleet::Endpoint e;
    size_t colon = text.rfind(':');
    std::string_view host = text.substr(0, colon), port = colon == text.npos ? "" : text.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (colon == text.npos || host.empty() || ec != std::errc{} || ptr != port.data() + port.size() || v == 0 ||
        v > 65535) {
        r.error(path, quote_short(std::string(text)) + " is not HOST:PORT");
        return std::nullopt;
    }
    e.host = host;
    e.port = uint16_t(v);
    return e;
}

// redis://HOST:PORT[/DB] or sentinel://H1:P1[,H2:P2...]/MASTER[/DB]
void read_redis_url(Reader& r, const std::string& path, const std::string& url, Fleet& f) {
    // Credentials never go in the URL (nor, then, in an error that quotes it): they belong in
    // the 0600 file fleet.credentials names.
    if (auto at = url.find('@'); at != std::string::npos && url.find("//") < at) {
        r.error(path, "the URL holds credentials (user:password@): never quoted here; put them in the file "
                      "fleet.credentials names, and the URL without them");
        return;
    }
    auto bad = [&](const std::string& why) {
        r.error(path, quote_short(url) + ": " + why + " (redis://HOST:PORT[/DB] or "
                                                      "sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/DB])");
    };
    bool sentinel = url.starts_with("sentinel://");
    if (!sentinel && !url.starts_with("redis://")) return bad("unknown scheme");
    std::string rest = url.substr(sentinel ? 11 : 8);
    std::vector<std::string> parts;
    for (size_t pos = 0;;) {
        size_t slash = rest.find('/', pos);
        parts.push_back(rest.substr(pos, slash == rest.npos ? rest.npos : slash - pos));
        if (slash == rest.npos) break;
        pos = slash + 1;
    }
    auto read_db = [&](const std::string& t) {
        auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), f.db);
        if (ec != std::errc{} || p != t.data() + t.size() || f.db > 15) bad("database must be 0-15");
    };
    if (sentinel) {
        if (parts.size() < 2 || parts.size() > 3 || parts[1].empty()) return bad("no master name");
        for (size_t pos = 0; pos <= parts[0].size();) {
            size_t comma = parts[0].find(',', pos);
            auto e = read_endpoint(r, path, std::string_view(parts[0]).substr(pos, comma == parts[0].npos ? parts[0].npos : comma - pos));
            if (!e) return;
            f.sentinels.push_back(*e);
            if (comma == parts[0].npos) break;
            pos = comma + 1;
        }
        f.master = parts[1];
        if (parts.size() == 3) read_db(parts[2]);
        return;
    }
    if (parts.size() > 2) return bad("too many parts");
    if (auto e = read_endpoint(r, path, parts[0])) f.redis = *e;
    if (parts.size() == 2) read_db(parts[1]);
}

}  // namespace

void read_platform(Reader& r, const Json* j, Policy& p) {
    if (!j || !r.is_object(*j, "platform")) return;
    const std::string path = "platform";
    r.known_keys(*j, path, {"database", "max_remove_percent"});
    Platform pl;
    read_path(r, *j, path, "database", pl.database);
    if (!pl.database.empty() && !pl.database.starts_with("mysql:"))
        r.error("platform.database", quote_short(pl.database) + " is not \"mysql:<credentials file>\"");
    r.read(*j, path, "max_remove_percent", pl.max_remove_percent, 0, 100);
    p.platform = std::move(pl);
}

// "HOST:PORT" (IPv6: "[addr]:port"), port 1-65535.
void read_fleet(Reader& r, const Json* j, Policy& p) {
    if (!j || !r.is_object(*j, "fleet")) return;
    const std::string path = "fleet";
    r.known_keys(*j, path, {"redis", "credentials", "host", "max_ban"});
    Fleet f;
    std::string url;
    read_path(r, *j, path, "redis", url);
    if (!url.empty()) read_redis_url(r, "fleet.redis", url, f);
    r.read(*j, path, "credentials", f.credentials);
    if (f.credentials.empty())
        r.error(path, "needs \"credentials\": the 0600 file whose `key = ...` line signs every fleet message "
                      "(without it, whoever reaches Redis could lift or fake bans)");
    r.read(*j, path, "host", f.host);
    if (!f.host.empty() &&
        (f.host.size() > 64 || !std::all_of(f.host.begin(), f.host.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
        })))
        r.error("fleet.host", quote_short(f.host) + ": 1-64 of letters, digits, '.', '_', '-'");
    if (auto it = j->find("max_ban"); it != j->end())
        if (auto d = read_duration(r, *it, "fleet.max_ban")) f.max_ban_s = *d;
    if (!p.antiflood) r.error(path, "needs an antiflood section: the bans it shares live in antiflood's ban sets");
    p.fleet = std::move(f);
}

// With a platform section the company ranges come from its database: the companies
// section (optional then) keeps strict and its guard.
void read_companies(Reader& r, const Json* j, Policy& p) {
    if (!j || !r.is_object(*j, "companies")) {
        if (p.platform) p.companies = Companies{p.platform->database, p.platform->max_remove_percent, false};
        return;
    }
    const std::string path = "companies";
    r.known_keys(*j, path, {"source", "max_remove_percent", "strict"});
    Companies c;
    if (!p.platform) read_path(r, *j, path, "source", c.source);
    else if (j->contains("source"))
        r.error("companies.source", "the company ranges come from platform.database: remove one of the two");
    else c.source = p.platform->database, c.max_remove_percent = p.platform->max_remove_percent;
    r.read(*j, path, "max_remove_percent", c.max_remove_percent, 0, 100);
    r.read(*j, path, "strict", c.strict);
    p.companies = std::move(c);
}

void read_call_limit(Reader& r, const Json* j, Policy& p) {
    if (!j || !r.is_object(*j, "call_limit")) return;
    r.known_keys(*j, "call_limit", {"max_media_flows_per_source"});
    r.read(*j, "call_limit", "max_media_flows_per_source", p.call_limit.max_media_flows_per_source,
           0, UINT32_MAX);
}

void read_logging(Reader& r, const Json* j, Policy& p) {
    if (!j || !r.is_object(*j, "logging")) return;
    const std::string path = "logging";
    r.known_keys(*j, path, {"drops", "rate", "burst", "prefix"});
    Logging l;
    r.read(*j, path, "drops", l.drops);
    if (auto it = j->find("rate"); it != j->end())
        if (auto rate = read_rate(r, *it, "logging.rate")) std::tie(l.rate, l.rate_unit_s) = *rate;
    r.read(*j, path, "burst", l.burst, 1, 1000000);
    check_refill(r, "logging.burst", l.rate, l.rate_unit_s, l.burst);
    r.read(*j, path, "prefix", l.prefix);
    // nft log prefixes hold 127 characters; "<prefix> drop not_exposed: " must fit.
    bool printable = std::all_of(l.prefix.begin(), l.prefix.end(),
                                 [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
    if (l.prefix.empty() || l.prefix.size() > 64 || !printable)
        r.error("logging.prefix", quote_short(l.prefix) + ": 1 to 64 printable characters, no quotes or backslashes");
    p.logging = std::move(l);
}

void read_watch(Reader& r, const Json* j, Policy& p) {
    if (!j || !r.is_object(*j, "watch")) return;
    r.known_keys(*j, "watch", {"drift"});
    if (auto it = j->find("drift"); it != j->end()) {
        auto drift = r.string(*it, "watch.drift");
        if (drift == "report") p.watch.drift = Watch::Drift::report;
        else if (drift && drift != "restore") r.error("watch.drift", quote_short(*drift) + " is not \"restore\" or \"report\"");
    }
}

}  // namespace ivozfw::policy::detail
