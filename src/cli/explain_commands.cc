// SPDX-License-Identifier: GPL-2.0-or-later
// ivozfw explain SOURCE [PROTO/PORT] [--json]
// What happens to a new packet from SOURCE to PROTO/PORT, step by step, evaluated on the
// compiled rules with the live kernel sets (bans, GeoIP, companies). Without PROTO/PORT:
// the verdict for every exposed service (its first port per protocol).
// Exit: 0 accepted, 5 dropped (one PROTO/PORT), 1 error; 0 for the every-service summary.
#include <fmt/format.h>

#include <ctime>
#include <iostream>

#include "cli/desired.h"
#include "cli/explain_context.h"
#include "cli/neighbours.h"
#include "explain/explain.h"
#include "geoip/mmdb.h"
#include "input/quote.h"
#include "nft/reconcile.h"

namespace ivozfw::cli {

namespace {

constexpr int kExitDropped = 5;

nlohmann::json result_json(const explain::Result& r, const explain::Packet& p) {
    auto steps = nlohmann::json::array();
    for (const auto& s : r.steps)
        steps.push_back({{"chain", s.chain}, {"rule", s.rule}, {"text", s.text}, {"decided_by", s.decided_by},
                         {"matched", s.matched}});
    return {{"proto", p.proto == policy::Proto::tcp ? "tcp" : "udp"}, {"port", p.port}, {"forwarded", p.forwarded},
            {"verdict", r.accepted ? "accept" : "drop"}, {"reason", r.reason}, {"counter", r.counter},
            {"rule", r.decided_by}, {"service", r.service}, {"summary", r.summary}, {"steps", steps}};
}

}  // namespace

explain::Context explain_context(const Desired& d, const ruleset::Table* sets, const net::Address& src,
                                 std::vector<std::string>* notes) {
    explain::Context c;
    c.policy = &d.policy;
    c.compiled = &d.table;
    c.live = sets;
    c.companies = d.companies ? &*d.companies : nullptr;
    c.platform = d.platform ? &*d.platform : nullptr;
    c.now_s = std::time(nullptr);
    if (d.policy.geoip) {
        c.geoip_database = d.policy.geoip->database;
        try {
            c.country = geoip::lookup(d.policy.geoip->database, src, d.policy.geoip->field);
        } catch (const std::exception& e) {
            if (notes) notes->push_back(std::string("GeoIP lookup failed: ") + e.what() + " (the set still decides)");
        }
    }
    return c;
}

std::vector<explain::Packet> service_packets(const policy::Policy& p, const net::Address& src, bool forwarded) {
    std::vector<explain::Packet> out;
    for (const auto& s : p.services) {
        if (!s.tcp.empty()) out.push_back({src, policy::Proto::tcp, s.tcp.front().lo, forwarded});
        if (!s.udp.empty()) out.push_back({src, policy::Proto::udp, s.udp.front().lo, forwarded});
    }
    return out;
}

int cmd_explain(const Options& o) {
    auto addr = net::parse_address(o.address);
    if (!addr) throw std::runtime_error(input::quote_short(o.address) + " is not an IP address");
    std::optional<std::pair<policy::Proto, uint16_t>> pp;
    if (!o.proto_port.empty()) {
        pp = explain::parse_proto_port(o.proto_port);
        if (!pp) throw std::runtime_error(input::quote_short(o.proto_port) + " is not PROTO/PORT (e.g. udp/5060, tcp/22)");
    }
    auto d = build_desired(o, OnSourceError::keep_live);
    auto kernel = open_kernel(o);
    auto& nl = *kernel;
    auto opt = reconcile_options(o);
    opt.dry_run = true;
    opt.make_plan = plan_as_apply(d);   // its pending count is diff's
    auto out = nft::reconcile(nl, d.table, opt);

    std::vector<std::string> notes;
    auto c = explain_context(d, out.before ? &*out.before : nullptr, *addr, &notes);
    if (!out.before)
        notes.push_back(fmt::format("table inet {} is NOT loaded: nothing filters packets now; this is what the "
                                    "policy would do (compiled sets)", d.table.name));
    else if (!out.plan.empty())
        notes.push_back(fmt::format("the live table differs from the policy ({} pending changes, see `ivozfw diff`): "
                                    "the rules walked are the policy's, the sets the kernel's", out.plan.ops.size()));
    // What this walk cannot see: another table's verdicts, a port another table forwards.
    for (const auto& n : overriding_neighbours(nl, d.table.name)) notes.push_back(n);
    std::vector<explain::Packet> packets =
        pp ? std::vector<explain::Packet>{{*addr, pp->first, pp->second, o.forwarded}}
           : service_packets(d.policy, *addr, o.forwarded);
    std::vector<explain::Result> results;
    for (const auto& p : packets) results.push_back(explain::explain(c, p));

    if (o.json) {
        auto arr = nlohmann::json::array();
        for (size_t i = 0; i < results.size(); ++i) arr.push_back(result_json(results[i], packets[i]));
        nlohmann::json j{{"source", net::format_address(addr->family, addr->value)},
                         {"table", d.table.name}, {"loaded", out.before.has_value()}, {"forwarded", o.forwarded},
                         {"pending_changes", out.plan.ops.size()}, {"notes", notes}};
        if (c.country) j["country"] = *c.country;
        if (pp) j.update(arr[0]);
        else j["services"] = arr;
        std::cout << j.dump(2) << "\n";
    } else {
        for (const auto& n : notes) fmt::print("note: {}\n", n);
        if (pp) {
            const auto& r = results[0];
            fmt::print("new {} packet from {} to port {}{}:\n", o.proto_port, o.address, pp->second,
                       o.forwarded ? ", DNATed by another table (forwarded)" : "");
            size_t i = 0;
            for (const auto& s : r.steps)
                fmt::print("  {:>2}. [{} {}] {}\n", ++i, s.chain, s.rule, s.text);
            fmt::print("{}\n", r.summary);
        } else {
            fmt::print("new {}packets from {} ({}):\n", o.forwarded ? "forwarded (DNATed) " : "", o.address,
                       c.country ? "country " + (c.country->empty() ? std::string("unknown") : *c.country)
                                 : std::string("no GeoIP"));
            for (size_t i = 0; i < results.size(); ++i) {
                const auto& p = packets[i];
                fmt::print("  {:<14} {:<10} {}\n",
                           fmt::format("{}/{}", p.proto == policy::Proto::tcp ? "tcp" : "udp", p.port),
                           results[i].service, results[i].summary);
            }
            fmt::print("  any port no service exposes: DROPPED: not exposed [drop_not_exposed]\n");
        }
    }
    if (!pp) return 0;
    return results[0].accepted ? 0 : kExitDropped;
}

}  // namespace ivozfw::cli
