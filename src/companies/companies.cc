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
    c.ranges.add(*p);
    c.raw.emplace_back(trim(text));
}

Loaded load(const std::string& source) {
    if (source.empty()) throw SourceError("no company source: set companies.source in the policy or use --source");
    Loaded l;
    if (source == "-") l = load_stdin();
    else if (source.starts_with("mysql:")) l = load_mysql(source.substr(6));
    else l = load_path(source);
    for (auto& [id, c] : l.companies) c.ranges.normalize();
    l.source = source == "-" ? "standard input" : source;
    return l;
}

}  // namespace ivozfw::companies
