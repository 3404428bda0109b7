// SPDX-License-Identifier: GPL-2.0-or-later
#include "fleet/bans.h"

#include <fmt/format.h>

#include <algorithm>

#include "ruleset/values.h"

namespace ivozfw::fleet {

std::string Ban::address() const {
    std::string a = net::format_address(family, value);
    return prefix < net::bits(family) ? fmt::format("{}/{}", a, prefix) : a;
}

std::vector<Ban> bans_of(const ruleset::Set& s, bool v6, unsigned v6_prefix) {
    std::vector<Ban> out;
    out.reserve(s.elements.size());
    for (const auto& e : s.elements) {
        Ban b;
        b.family = v6 ? net::Family::v6 : net::Family::v4;
        b.value = ruleset::from_be(e.key.data(), unsigned(e.key.size()));
        b.prefix = v6 ? v6_prefix : 32;
        if (auto f = parse_fleet_comment(e.comment())) b.origin = f->first, b.reason = f->second;
        else b.reason = e.comment().empty() ? "antiflood" : e.comment();
        b.timeout_ms = e.timeout_ms().value_or(s.timeout_ms);
        b.left_ms = e.expires_ms().value_or(0);
        out.push_back(std::move(b));
    }
    return out;
}

const ruleset::Element* find_ban(const ruleset::Set& s, const ruleset::Bytes& key) {
    const ruleset::Key k(key);   // once: comparing with Bytes would convert per element
    for (const auto& e : s.elements)
        if (e.key == k) return &e;
    return nullptr;
}

std::string fleet_comment(const std::string& origin, const std::string& reason) {
    return "fleet:" + origin + ":" + reason;
}

std::optional<std::pair<std::string, std::string>> parse_fleet_comment(const std::string& c) {
    if (!c.starts_with("fleet:")) return std::nullopt;
    auto rest = c.substr(6);
    auto colon = rest.find(':');
    if (colon == rest.npos) return std::nullopt;
    return std::pair{rest.substr(0, colon), rest.substr(colon + 1)};
}

bool valid_host(const std::string& h) {
    return !h.empty() && h.size() <= 64 && std::all_of(h.begin(), h.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
               c == '-';
    });
}

}  // namespace ivozfw::fleet
