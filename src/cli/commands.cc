// SPDX-License-Identifier: GPL-2.0-or-later
#include "cli/commands.h"

#include <fmt/format.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "cli/desired.h"
#include "nft/reconcile.h"
#include "ruleset/antiflood.h"
#include "plan/report.h"
#include "cli/confirm.h"
#include "cli/explain_context.h"
#include "cli/neighbours.h"
#include "explain/explain.h"
#include "io/lock.h"
#include "plan/apply.h"
#include "ruleset/compile.h"
#include "ruleset/render.h"
#include "net/sessions.h"
#include "ruleset/values.h"
#include "ruleset/snapshot.h"
#include "watch/watch.h"

namespace ivozfw::cli {

namespace {

constexpr const char* kApplied = "last-apply.json";


// The sessions to protect: SSH_CONNECTION ("client_ip client_port server_ip server_port"), and
// every established TCP connection to a port of the policy's ssh service (22 without one),
// from the kernel's socket table: sudo's env_reset, `su -` and a serial console lose the
// environment, not the connections.
std::vector<net::Session> ssh_sessions(const Desired& d) {
    std::set<uint16_t> ports;
    for (const auto& s : d.policy.services)
        if (s.name == "ssh")
            for (const auto& r : s.tcp)
                for (unsigned p = r.lo; p <= r.hi && ports.size() < 64; ++p) ports.insert(uint16_t(p));
    if (ports.empty()) ports.insert(22);
    std::vector<net::Session> out;
    if (const char* env = std::getenv("SSH_CONNECTION")) {
        std::string client, cport, server;
        unsigned sport = 0;
        std::istringstream in(env);
        if (in >> client >> cport >> server >> sport && sport > 0 && sport <= 65535)
            if (auto addr = net::parse_address(client)) {
                out.push_back({*addr, uint16_t(sport)});
                ports.insert(uint16_t(sport));
            }
    }
    for (auto& s : net::established_tcp(ports))
        if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    return out;
}

// Refuse a table that would not let a client of a live SSH session open a new one to that
// port again. Decided by the one evaluator on the table the batch produces (GeoIP sets,
// company ranges, bans and all).
void lockout_guard(const Desired& d, const std::optional<ruleset::Table>& live, const plan::Plan& plan) {
    auto sessions = ssh_sessions(d);
    if (sessions.empty()) {
        if (isatty(STDIN_FILENO))
            std::cerr << "ivozfw: warning: lockout guard: no SSH session found (SSH_CONNECTION is not set and no "
                         "connection to the ssh service is established): nothing to protect\n";
        return;
    }
    auto after = plan::apply(live, plan, d.table);
    if (!after) return;   // no table: nothing filters
    std::vector<std::string> cut;
    for (const auto& s : sessions) {
        auto c = explain_context(d, &*after, s.remote);
        auto r = explain::explain(c, {s.remote, policy::Proto::tcp, s.local_port});
        if (!r.accepted)
            cut.push_back(fmt::format("from {} to port {}: {}", net::format_address(s.remote.family, s.remote.value),
                                      s.local_port, r.summary));
    }
    if (!cut.empty())
        throw Refused(fmt::format("refusing to apply: {} would be cut off: {}. Fix the policy, or use --force if you "
                                  "mean it.",
                                  cut.size() == 1 ? "your SSH session" : fmt::format("{} SSH sessions", cut.size()),
                                  fmt::join(cut, "; ")));
}

void print_outcome(const nft::Outcome& out, const std::string& verb) {
    if (out.plan.empty()) {
        fmt::print("table inet {}: no changes, the kernel already matches\n", out.plan.table);
        return;
    }
    fmt::print("table inet {}: {} {} change{} ({} set elements) in one transaction "
               "({} netlink messages, {} bytes{})\n",
               out.plan.table, verb, out.plan.ops.size(), out.plan.ops.size() == 1 ? "" : "s",
               out.plan.element_count(), out.stats.messages, out.stats.bytes,
               out.attempts > 1 ? fmt::format(", {} attempts", out.attempts) : "");
}

// An untracked datagram skips NAT, both ways. Say so when a NAT chain exists: it may
// translate a metered port (docker's published ports, an SNAT of the host's SIP). Advisory:
// it never fails the command.
void warn_untracked_nat(const Desired& d, nft::Kernel& k) {
    auto set = d.table.sets.find(ruleset::names::untracked_udp);
    if (set == d.table.sets.end()) return;   // no untracked port
    std::vector<std::string> nat;
    try {
        nat = k.nat_chains();
    } catch (const std::exception& e) {
        std::cerr << "ivozfw: warning: could not list NAT chains (" << e.what() << ")\n";
        return;
    }
    if (nat.empty()) return;
    std::vector<std::string> ports;
    for (const auto& e : set->second.elements)
        ports.push_back(ruleset::format_key(ruleset::KeyType::inet_service, e.key.data()));
    std::cerr << fmt::format("ivozfw: warning: NAT chain{}: {}. Datagrams to and from the untracked UDP ports "
                             "({}) skip NAT: if a NAT rule translates them, set antiflood.conntrack_udp to true\n",
                             nat.size() == 1 ? "" : "s", fmt::join(nat, ", "), fmt::join(ports, ", "));
}

// The table `remove` deletes: --table, or the policy's. A policy that does not load names
// no table: guessing "ivozfw" could delete a table the policy never named (another
// instance's), so the command refuses and asks for --table.
std::string table_name(const Options& o) {
    if (!o.table.empty()) return o.table;
    try {
        return load_policy(o).table;
    } catch (const policy::LoadError& e) {
        for (const auto& d : e.diagnostics) std::cerr << d.str() << "\n";
        throw std::runtime_error(fmt::format("{} does not load, so which table to remove is not known: fix it, or "
                                             "name the table: ivozfw remove --table NAME",
                                             o.policy));
    }
}

}  // namespace

int cmd_check(const Options& o) {
    auto d = build_desired(o, OnSourceError::fail);
    const auto& p = d.policy;
    const auto& t = d.table;
    size_t rules = 0, elements = 0;
    for (const auto& [n, c] : t.chains) rules += c.rules.size();
    for (const auto& [n, s] : t.sets) elements += s.elements.size();
    fmt::print("{}: OK: table inet {}, {} services, {} address lists, {} sets ({} elements), {} chains, {} rules\n",
               o.policy, t.name, p.services.size(), p.lists.size(), t.sets.size(), elements,
               t.chains.size(), rules);
    if (p.antiflood) fmt::print("antiflood meters: {}\n", ruleset::antiflood_summary(p));
    if (t.chains.count(ruleset::names::prerouting)) {
        const auto& a = *p.antiflood;
        fmt::print("antiflood cap before conntrack: {}/{} burst {} per metered UDP service, from non-exempt sources\n",
                   a.service_rate, ruleset::rate_unit(a.service_unit_s), a.service_burst);
        fmt::print("{}\n", ruleset::udp_conntrack_summary(p));
    }
    if (t.counters.count(ruleset::names::drop_conn_cap)) {
        const auto& a = *p.antiflood;
        fmt::print("antiflood cap on new TCP connections: {}/{} per metered TCP service, from non-exempt sources\n",
                   a.service_tcp_rate, ruleset::rate_unit(a.service_tcp_unit_s));
    }
    if (!o.kernel) return 0;
    // The exact batch apply would send, without its END message: the kernel validates every
    // message, then aborts. Nothing changes.
    auto kernel = open_kernel(o);
    auto& nl = *kernel;
    auto opt = reconcile_options(o);
    opt.check_only = true;
    opt.make_plan = plan_as_apply(d);
    auto out = nft::reconcile(nl, t, opt);
    warn_untracked_nat(d, nl);
    if (out.plan.empty()) fmt::print("kernel: nothing to send, the live table already matches\n");
    else fmt::print("kernel: accepted the {}-change batch ({} netlink messages, {} bytes) and discarded it\n",
                    out.plan.ops.size(), out.stats.messages, out.stats.bytes);
    for (const auto& n : overriding_neighbours(nl, t.name)) std::cerr << "ivozfw: warning: " << n << "\n";
    return 0;
}

int cmd_export(const Options& o) {
    std::cout << ruleset::render_script(build_desired(o, OnSourceError::fail).table);
    return 0;
}

int cmd_diff(const Options& o) {
    auto d = build_desired(o, OnSourceError::keep_live);
    const auto& t = d.table;
    auto kernel = open_kernel(o);
    auto& nl = *kernel;
    auto opt = reconcile_options(o);
    opt.dry_run = true;
    opt.make_plan = plan_as_apply(d);
    auto out = nft::reconcile(nl, t, opt);
    if (o.json) std::cout << plan::render_json(out.plan, t).dump(2) << "\n";
    else std::cout << plan::render_text(out.plan, t);
    return out.plan.empty() ? 0 : 2;
}

int cmd_apply(const Options& o) {
    if (o.boot && confirm::orphaned(o)) {
        // The host went down while an `apply --confirm` waited: the policy on disk was never
        // confirmed. Come back with the table that was confirmed.
        io::FileLock lock(o.state.file(kWriterLock), std::chrono::seconds(120), "apply --boot");
        auto kernel = open_kernel(o);
        fmt::print("{}\n", confirm::restore(o, *kernel));
        std::cerr << "ivozfw: warning: restored the table from before the unconfirmed `apply --confirm` instead "
                     "of applying "
                  << o.policy << "\n";
        return kExitWarnings;
    }
    auto d = build_desired(o, OnSourceError::keep_live);
    const auto& t = d.table;
    auto kernel = open_kernel(o);
    auto opt = reconcile_options(o);
    opt.make_plan = plan_as_apply(d);
    std::optional<confirm::Arming> arming;
    if (o.confirm_s) {
        o.state.ensure();
        arming.emplace(o);
    }
    opt.before_commit = [&](const std::optional<ruleset::Table>& live, const plan::Plan& plan) {
        if (plan.empty()) return;
        if (!o.force) lockout_guard(d, live, plan);
        if (arming) arming->arm(live, t.name);   // snapshot + state synced, watcher running
    };
    nft::Outcome out;
    try {
        out = nft::reconcile(*kernel, t, opt);
    } catch (const nft::KernelError& e) {
        // Sent, outcome unknown: it may have committed, so the rollback stays armed.
        if (!arming || !arming->armed() || e.changed != nft::Changed::unknown) throw;
        arming->maybe_committed();
        throw nft::KernelError(e.err, fmt::format("{}. The rollback stays armed: unless `ivozfw confirm` runs "
                                                  "within {} seconds, the table from before this apply is restored",
                                                  e.what(), o.confirm_s),
                               e.changed);
    }
    if (arming && out.committed) arming->committed();
    // From here on the kernel has the new table: failures are reported as such.
    print_outcome(out, "applied");
    warn_untracked_nat(d, *kernel);
    for (const auto& n : overriding_neighbours(*kernel, t.name)) std::cerr << "ivozfw: warning: " << n << "\n";
    std::vector<std::string> after_commit;
    try {
        o.state.write_json(kApplied, {{"time", now_iso()}, {"policy", o.policy}, {"table", t.name},
                                      {"changes", out.plan.ops.size()}, {"elements", out.plan.element_count()}});
    } catch (const std::exception& e) {
        after_commit.push_back(e.what());
    }
    if (arming && out.committed)
        fmt::print("run `ivozfw confirm` within {} seconds to keep it; otherwise the previous table is restored\n",
                   o.confirm_s);
    else if (o.confirm_s)
        fmt::print("nothing changed, so there is nothing to confirm\n");
    if (d.geoip) {
        try {
            record_geoip(o, *d.geoip);
        } catch (const std::exception& e) {
            after_commit.push_back(e.what());
        }
    }
    record_sources(o, d);
    for (const auto& w : after_commit)
        std::cerr << "ivozfw: warning: " << (out.committed ? "committed, but " : "") << w << "\n";
    return after_commit.empty() ? exit_status(d, out) : kExitWarnings;
}

int cmd_remove(const Options& o) {
    std::string name = table_name(o);
    auto kernel = open_kernel(o);
    auto& nl = *kernel;
    auto opt = reconcile_options(o);
    opt.make_plan = [&](const std::optional<ruleset::Table>& live) { return plan::plan_remove(live, name); };
    ruleset::Table empty;
    empty.name = name;
    auto out = nft::reconcile(nl, empty, opt);
    if (out.plan.empty()) fmt::print("table inet {} is not loaded: nothing to remove\n", name);
    else fmt::print("table inet {} removed\n", name);
    // `ivozfw watch`, started later, must not bring back a table removed on purpose (a
    // running watch records the removal itself, in order with later commits).
    if (watch_running(o)) return 0;
    try {
        o.state.ensure();
        o.state.write_json(watch::kCommittedFile, ruleset::snapshot_to_json(std::nullopt, name));
    } catch (const std::exception& e) {
        std::cerr << "ivozfw: warning: " << (out.plan.empty() ? "" : "committed, but ") << e.what() << "\n";
        return kExitWarnings;
    }
    return 0;
}

}  // namespace ivozfw::cli
