// SPDX-License-Identifier: GPL-2.0-or-later
#include "ruleset/snapshot.h"

#include <stdexcept>

namespace ivozfw::ruleset {

namespace {

std::string hex(const Bytes& b) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (uint8_t c : b) s += {d[c >> 4], d[c & 15]};
    return s;
}

Bytes unhex(const std::string& s) {
    if (s.size() % 2) throw std::runtime_error("snapshot: odd hex string");
    Bytes b;
    for (size_t i = 0; i < s.size(); i += 2) b.push_back(std::stoi(s.substr(i, 2), nullptr, 16));
    return b;
}

nlohmann::json verdict_json(const Verdict& v) { return {{"kind", int(v.kind)}, {"chain", v.chain}}; }
Verdict verdict_from(const nlohmann::json& j) {
    return {static_cast<Verdict::Kind>(j.at("kind").get<int>()), j.at("chain").get<std::string>()};
}

nlohmann::json set_json(const Set& s) {
    nlohmann::json el = nlohmann::json::array();
    for (const auto& e : s.elements) {
        nlohmann::json j = {{"key", hex(e.key)}, {"end", hex(e.key_end)}};
        if (e.verdict()) j["verdict"] = verdict_json(*e.verdict());
        el.push_back(j);
    }
    std::vector<int> key;
    for (auto k : s.key) key.push_back(int(k));
    return {{"key", key}, {"interval", s.interval}, {"verdict_map", s.verdict_map},
            {"dynamic", s.dynamic}, {"timeout", s.timeout}, {"timeout_ms", s.timeout_ms},
            {"size", s.size}, {"comment", s.comment}, {"elements", el}};
}

Set set_from(const std::string& name, const nlohmann::json& j) {
    Set s;
    s.name = name;
    for (int k : j.at("key")) s.key.push_back(static_cast<KeyType>(k));
    s.interval = j.at("interval");
    s.verdict_map = j.at("verdict_map");
    s.dynamic = j.at("dynamic");
    s.timeout = j.at("timeout");
    s.timeout_ms = j.at("timeout_ms");
    s.size = j.at("size");
    s.comment = j.value("comment", "");
    for (const auto& e : j.at("elements")) {
        Element el{unhex(e.at("key")), unhex(e.at("end"))};
        if (e.contains("verdict")) el.set().verdict = verdict_from(e["verdict"]);
        s.elements.push_back(std::move(el));
    }
    return s;
}

nlohmann::json chain_json(const Chain& c) {
    nlohmann::json rules = nlohmann::json::array();
    for (const auto& r : c.rules)
        rules.push_back({{"id", r.id}, {"comment", r.comment}, {"exprs", r.exprs}, {"wire", hex(r.wire)}});
    nlohmann::json j = {{"hook", c.hook}, {"priority", c.priority}, {"rules", rules}};
    if (c.policy) j["policy"] = int(*c.policy);
    return j;
}

Chain chain_from(const std::string& name, const nlohmann::json& j) {
    Chain c;
    c.name = name;
    c.hook = j.at("hook");
    c.priority = j.at("priority");
    if (j.contains("policy")) c.policy = static_cast<Verdict::Kind>(j["policy"].get<int>());
    for (const auto& r : j.at("rules")) {
        Rule rule;
        rule.id = r.at("id");
        rule.comment = r.at("comment");
        rule.exprs = r.at("exprs");
        rule.wire = unhex(r.at("wire"));
        c.rules.push_back(std::move(rule));
    }
    return c;
}

}  // namespace

nlohmann::json snapshot_to_json(const std::optional<Table>& t, const std::string& name) {
    nlohmann::json j = {{"format", 2}, {"table", name}, {"exists", t.has_value()}};
    if (!t) return j;
    for (const auto& [n, s] : t->sets) j["sets"][n] = set_json(s);
    j["comment"] = t->comment;
    j["counters"] = nlohmann::json::object();
    for (const auto& [n, c] : t->counters) j["counters"][n] = {{"comment", c.comment}};
    for (const auto& [n, c] : t->chains) j["chains"][n] = chain_json(c);
    j["chain_order"] = t->chain_order;
    return j;
}

std::optional<Table> snapshot_from_json(const nlohmann::json& j, std::string* name) {
    try {
        if (j.at("format") != 2) throw std::runtime_error("unknown format");
        *name = j.at("table");
        if (!j.at("exists").get<bool>()) return std::nullopt;
        Table t;
        t.name = *name;
        if (j.contains("sets"))
            for (const auto& [n, s] : j["sets"].items()) t.sets[n] = set_from(n, s);
        t.comment = j.value("comment", "");
        for (const auto& [n, c] : j.at("counters").items()) t.counters[n] = Counter{n, c.value("comment", ""), 0, 0};
        if (j.contains("chains"))
            for (const auto& [n, c] : j["chains"].items()) t.chains[n] = chain_from(n, c);
        t.chain_order = j.at("chain_order").get<std::vector<std::string>>();
        return t;
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(std::string("snapshot is malformed: ") + e.what());
    }
}

nlohmann::json comparable(nlohmann::json snap) {
    // Elements of dynamic sets belong to the packet path (bans, meters): never restored.
    if (snap.contains("sets"))
        for (auto& [n, s] : snap["sets"].items())
            if (s.value("dynamic", false)) s["elements"] = nlohmann::json::array();
    snap.erase("chain_order");   // creation order, not state: a recreated chain lists last
    return snap;
}

}  // namespace ivozfw::ruleset
