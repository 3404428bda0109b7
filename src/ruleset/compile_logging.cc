// SPDX-License-Identifier: GPL-2.0-or-later
// Drop logging (policy "logging": {"drops": true}), applied to the finished table.
//
// Every rule that drops with a counter, `... counter name drop_<reason> drop`, becomes
// `... counter name drop_<reason> goto log_<reason>`, and chain log_<reason> is
//   limit rate 5/minute burst 5 packets log prefix "ivozfw drop <reason>: "
//   drop
// One chain per reason: the rate limit is per reason whatever the number of rules, and a
// rule whose matches have side effects (the anti-flood meters `update @flood_v4 {...}`)
// runs them once, as without logging (a twin rule in front would meter every packet twice).
#include "ruleset/features.h"

namespace ivozfw::ruleset {

namespace names {
std::string log_chain(const std::string& counter) {
    return "log_" + (counter.starts_with("drop_") ? counter.substr(5) : counter);
}
}  // namespace names

void logging_rules(const policy::Policy& p, Table& t) {
    if (!p.logging.drops) return;
    const auto& l = p.logging;
    std::map<std::string, Chain> logs;
    for (auto& [name, chain] : t.chains) {
        for (auto& rule : chain.rules) {
            auto& st = rule.stmts;
            if (st.size() < 2) continue;
            auto* v = std::get_if<Verdict>(&st.back());
            auto* c = std::get_if<CounterRef>(&st[st.size() - 2]);
            if (!v || !c || v->kind != Verdict::drop) continue;
            std::string log = names::log_chain(c->name);
            if (!logs.count(log)) {
                std::string reason = log.substr(4);
                Chain lc;
                lc.name = log;
                lc.rules.push_back(make_rule(log + "/log",
                    {Limit{l.rate, l.rate_unit_s, l.burst, false}, Log{l.prefix + " drop " + reason + ": "}}));
                lc.rules.push_back(make_rule(log + "/drop", {Verdict{Verdict::drop, {}}}));
                logs[log] = std::move(lc);
            }
            *v = Verdict{Verdict::goto_, log};
        }
    }
    // Created before the chains that name them.
    std::vector<std::string> order;
    for (auto& [name, c] : logs) {
        order.push_back(name);
        t.chains[name] = std::move(c);
    }
    order.insert(order.end(), t.chain_order.begin(), t.chain_order.end());
    t.chain_order = std::move(order);
}

}  // namespace ivozfw::ruleset
