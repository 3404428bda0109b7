// SPDX-License-Identifier: GPL-2.0-or-later
#include "plan/report.h"

#include <algorithm>

#include <fmt/format.h>

#include "ruleset/render.h"
#include "ruleset/values.h"

namespace ivozfw::plan {

namespace {


std::vector<std::string> sample_elements(const Op& o, const Table& desired, size_t n) {
    std::vector<std::string> out;
    auto s = desired.sets.find(o.name);
    for (size_t i = 0; i < o.elements.size() && i < n; ++i)
        out.push_back(s != desired.sets.end() ? ruleset::format_element(s->second, o.elements[i]) : "?");
    return out;
}

std::string object_line(const Op& o, const Table& d) {
    switch (o.verb) {
    case Op::add_table: return fmt::format("+ table inet {}", o.name);
    case Op::delete_table: return fmt::format("- table inet {}", o.name);
    case Op::add_counter: return fmt::format("+ counter {}", o.name);
    case Op::delete_counter: return fmt::format("- counter {}", o.name);
    case Op::add_set: {
        const auto& s = d.sets.at(o.name);
        return fmt::format("+ {} {} {{ {} }}", s.verdict_map ? "map" : "set", o.name, ruleset::render_set_head(s));
    }
    case Op::delete_set: return fmt::format("- set {}", o.name);
    case Op::add_chain: {
        auto head = ruleset::render_chain_head(d.chains.at(o.name));
        return fmt::format("+ chain {}{}", o.name, head.empty() ? "" : " { " + head + " }");
    }
    case Op::delete_chain: return fmt::format("- chain {}", o.name);
    default: return {};
    }
}

}  // namespace

const char* verb_name(Op::Verb v) {
    switch (v) {
    case Op::add_table: return "add_table";
    case Op::delete_table: return "delete_table";
    case Op::add_counter: return "add_counter";
    case Op::delete_counter: return "delete_counter";
    case Op::add_set: return "add_set";
    case Op::delete_set: return "delete_set";
    case Op::add_elements: return "add_elements";
    case Op::delete_elements: return "delete_elements";
    case Op::add_chain: return "add_chain";
    case Op::delete_chain: return "delete_chain";
    case Op::add_rule: return "add_rule";
    case Op::replace_rule: return "replace_rule";
    case Op::delete_rule: return "delete_rule";
    }
    return "?";
}

std::string verb_words(Op::Verb v) {
    std::string w = verb_name(v);
    std::replace(w.begin(), w.end(), '_', ' ');
    switch (v) {
    case Op::add_elements: case Op::add_rule: return w + " to";
    case Op::delete_elements: case Op::delete_rule: return w + " from";
    case Op::replace_rule: return w + " in";
    default: return w;
    }
}

std::string render_text(const Plan& p, const Table& desired, size_t sample) {
    if (p.empty()) return fmt::format("table inet {}: no changes\n", p.table);
    std::string out;
    for (const auto& o : p.ops) {
        std::string why = o.why.empty() ? "" : "  # " + o.why;
        switch (o.verb) {
        case Op::add_elements:
        case Op::delete_elements: {
            char sign = o.verb == Op::add_elements ? '+' : '-';
            out += fmt::format("  set {}: {}{} elements\n", o.name, sign, o.elements.size());
            for (const auto& e : sample_elements(o, desired, sample)) out += fmt::format("      {} {}\n", sign, e);
            if (o.elements.size() > sample) out += fmt::format("      ... {} more\n", o.elements.size() - sample);
            break;
        }
        case Op::add_rule:
            out += fmt::format("  chain {}: + {}{}\n", o.name, ruleset::render_rule(o.rule), why);
            break;
        case Op::delete_rule:
            out += fmt::format("  chain {}: - {} (handle {}){}\n", o.name, ruleset::render_rule(o.rule), o.rule.handle, why);
            break;
        case Op::replace_rule:
            out += fmt::format("  chain {}: ~ {} (handle {}, was [{}]){}\n", o.name,
                               ruleset::render_rule(o.rule), o.rule.handle, ruleset::one_line(o.rule.comment), why);
            break;
        default: out += object_line(o, desired) + why + "\n";
        }
    }
    size_t changes = p.ops.size();
    out += fmt::format("table inet {}: {} change{} ({} set elements)\n", p.table, changes,
                       changes == 1 ? "" : "s", p.element_count());
    return out;
}

nlohmann::json render_json(const Plan& p, const Table& desired, size_t sample) {
    nlohmann::json ops = nlohmann::json::array();
    for (const auto& o : p.ops) {
        nlohmann::json j = {{"op", verb_name(o.verb)}, {"name", o.name}};
        if (!o.why.empty()) j["why"] = o.why;
        if (o.verb == Op::add_elements || o.verb == Op::delete_elements) {
            j["count"] = o.elements.size();
            j["sample"] = sample_elements(o, desired, sample);
        }
        if (o.verb == Op::add_rule || o.verb == Op::replace_rule || o.verb == Op::delete_rule) {
            j["rule"] = ruleset::render_rule(o.rule);
            if (!o.rule.id.empty()) j["id"] = o.rule.id;
            if (o.rule.handle) j["handle"] = o.rule.handle;
        }
        ops.push_back(std::move(j));
    }
    return {{"table", p.table}, {"table_exists", p.table_exists}, {"changes", p.ops.size()},
            {"elements", p.element_count()}, {"ops", ops}};
}

}  // namespace ivozfw::plan
