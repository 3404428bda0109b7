// SPDX-License-Identifier: GPL-2.0-or-later
#include "companies/companies.h"

#include <fmt/format.h>

#include "input/quote.h"

namespace ivozfw::companies {

net::AddressSet Loaded::all() const {
    net::AddressSet out;
    for (const auto& [id, c] : companies) {
        if (!c.loaded()) continue;
        for (const auto& r : c.ranges.v4) out.add(net::Family::v4, r);
        for (const auto& r : c.ranges.v6) out.add(net::Family::v6, r);
    }
    out.normalize();
    return out;
}

size_t Loaded::range_count() const {
    size_t n = 0;
    for (const auto& [id, c] : companies)
        if (c.loaded()) n += c.raw.size();
    return n;
}

namespace {
constexpr unsigned kWidestV4 = 8, kWidestV6 = 32;

net::u128 count(const net::RangeList& l) {
    net::u128 n = 0;
    for (const auto& r : l) n += r.hi - r.lo + 1;   // a /0 of IPv6 would wrap: refused per row first
    return n;
}
}  // namespace

std::string too_wide(const net::Prefix& p) {
    unsigned widest = p.addr.family == net::Family::v4 ? kWidestV4 : kWidestV6;
    if (p.len >= widest) return "";
    return fmt::format("{} is wider than /{}: refused, one row may not exempt that much of the Internet",
                       net::format_range(p.addr.family, p.range()), widest);
}

void check_total(const net::AddressSet& all, const std::string& what) {
    net::u128 v4 = count(all.v4), v6 = count(all.v6);
    net::u128 max4 = net::u128{1} << (32 - kWidestV4), max6 = net::u128{1} << (128 - kWidestV6);
    if (v4 > max4)
        throw SourceError(fmt::format("{} exempts {} IPv4 addresses in total, more than a /{} ({}): refused, a "
                                      "source may not open that much of the Internet",
                                      what, uint64_t(v4), kWidestV4, uint64_t(max4)));
    if (v6 > max6)
        throw SourceError(fmt::format("{} exempts more IPv6 addresses in total than a /{}: refused, a source may not "
                                      "open that much of the Internet",
                                      what, kWidestV6));
}

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

}  // namespace

void add_row(Loaded& l, Company& c, size_t row, const std::string& where, std::string_view text) {
    std::string err;
    auto p = net::parse_prefix(trim(text), &err);
    if (!p) {
        // A name from the source is shown as it is, unless too long to show.
        std::string name = c.name.size() <= 60 ? c.name : input::quote_short(c.name);
        std::string label = c.name.empty() ? "" : " (" + name + ")";
        l.warnings.push_back(fmt::format("company {}{}, row {} ({}): {}; row skipped", c.id, label, row, where, err));
        ++l.skipped;
        return;
    }
    if (auto wide = too_wide(*p); !wide.empty()) {
        l.warnings.push_back(fmt::format("company {}, row {} ({}): {}; row skipped", c.id, row, where, wide));
        ++l.skipped;
        return;
    }
    c.ranges.add(*p);
    c.raw.emplace_back(trim(text));
}

Loaded load(const std::string& source) {
    if (source.empty()) throw SourceError("no company source: set companies.source in the policy or use --source");
    Loaded l;
    if (source == "-") l = load_stdin();
    else if (source.starts_with("mysql:"))   // platform::load_companies reads the database
        throw SourceError(source + ": the database is read by platform::load_companies");
    else l = load_path(source);
    for (auto& [id, c] : l.companies) c.ranges.normalize();
    l.source = source == "-" ? "standard input" : source;
    check_total(l.all(), "the company source " + l.source);
    return l;
}

}  // namespace ivozfw::companies
