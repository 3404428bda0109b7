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
#include "plan/report.h"
#include "policy/reach.h"
#include "ruleset/compile.h"
#include "ruleset/render.h"
#include "ruleset/snapshot.h"

namespace ivozfw::cli {

namespace {

constexpr const char* kPending = "pending-confirm.json";
constexpr const char* kSnapshot = "rollback-snapshot.json";
constexpr const char* kApplied = "last-apply.json";

struct Refused : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// SSH_CONNECTION = "client_ip client_port server_ip server_port": refuse a policy that
// would not let this client open a new session to this port again.
void lockout_guard(const policy::Policy& p) {
    const char* env = std::getenv("SSH_CONNECTION");
    if (!env) return;
    std::string client, cport, server;
    unsigned sport = 0;
    std::istringstream in(env);
    if (!(in >> client >> cport >> server >> sport) || sport == 0 || sport > 65535) return;
    auto addr = net::parse_address(client);
    if (!addr) return;
    auto r = policy::reaches(p, *addr, policy::Proto::tcp, uint16_t(sport));
    if (!r.accepted)
        throw Refused(fmt::format("refusing to apply: your SSH session from {} to port {} would be cut "
                                  "off ({}). Fix the policy, or use --force if you mean it.",
                                  client, sport, r.why));
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

// Double fork + setsid: the watcher outlives the applying process, its terminal and a kill.
void spawn_watcher(const Options& o, const std::string& token) {
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("cannot start the rollback watcher: fork failed");
    if (pid > 0) {
        waitpid(pid, nullptr, 0);
        return;
    }
    setsid();
    if (fork() != 0) _exit(0);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0), dup2(null, 1), dup2(null, 2);
    std::string after = std::to_string(o.confirm_s);
    execl("/proc/self/exe", "ivozfw", "--state-dir", o.state.path.c_str(), "rollback-watch",
          "--token", token.c_str(), "--after", after.c_str(), (char*)nullptr);
    _exit(127);
}

nft::Outcome restore_snapshot(const Options& o, nft::Netlink& nl, const nlohmann::json& snap) {
    std::string name;
    auto table = ruleset::snapshot_from_json(snap, &name);
    auto opt = reconcile_options(o);
    if (!table) {
        opt.make_plan = [&](const std::optional<ruleset::Table>& live) { return plan::plan_remove(live, name); };
        ruleset::Table empty;
        empty.name = name;
        return nft::reconcile(nl, empty, opt);
    }
    return nft::reconcile(nl, *table, opt);
}

std::string table_name(const Options& o) {
    if (!o.table.empty()) return o.table;
    try {
        return load_policy(o).table;
    } catch (const std::exception&) {
        return "ivozfw";
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
    if (!o.kernel) return 0;
    // The exact batch apply would send, without its END message: the kernel validates every
    // message, then aborts. Nothing changes.
    nft::Netlink nl;
    auto opt = reconcile_options(o);
    opt.check_only = true;
    opt.make_plan = [&](const std::optional<ruleset::Table>& live) { return plan_keeping(d, live); };
    auto out = nft::reconcile(nl, t, opt);
    if (out.plan.empty()) fmt::print("kernel: nothing to send, the live table already matches\n");
    else fmt::print("kernel: accepted the {}-change batch ({} netlink messages, {} bytes) and discarded it\n",
                    out.plan.ops.size(), out.stats.messages, out.stats.bytes);
    return 0;
}

int cmd_export(const Options& o) {
    std::cout << ruleset::render_script(build_desired(o, OnSourceError::fail).table);
    return 0;
}

int cmd_diff(const Options& o) {
    auto d = build_desired(o, OnSourceError::keep_live);
    const auto& t = d.table;
    nft::Netlink nl;
    auto opt = reconcile_options(o);
    opt.dry_run = true;
    opt.make_plan = [&](const std::optional<ruleset::Table>& live) { return plan_keeping(d, live); };
    auto out = nft::reconcile(nl, t, opt);
    if (o.json) std::cout << plan::render_json(out.plan, t).dump(2) << "\n";
    else std::cout << plan::render_text(out.plan, t);
    return out.plan.empty() ? 0 : 2;
}

int cmd_apply(const Options& o) {
    auto d = build_desired(o, OnSourceError::keep_live);
    if (!o.force) lockout_guard(d.policy);
    const auto& t = d.table;
    if (o.confirm_s) {
        o.state.ensure();
        if (o.state.read_json(kPending))
            throw Refused("an earlier `apply --confirm` is still waiting: run `ivozfw confirm` first");
    }
    nft::Netlink nl;
    auto opt = reconcile_options(o);
    opt.make_plan = [&](const std::optional<ruleset::Table>& live) { return plan_keeping(d, live); };
    // The snapshot is the exact table this plan replaces (taken again on every retry).
    if (o.confirm_s)
        opt.before_commit = [&](const std::optional<ruleset::Table>& live, const plan::Plan&) {
            o.state.write_json(kSnapshot, ruleset::snapshot_to_json(live, t.name));
        };
    auto out = nft::reconcile(nl, t, opt);
    print_outcome(out, "applied");
    try {
        o.state.write_json(kApplied, {{"time", now_iso()}, {"policy", o.policy}, {"table", t.name},
                                      {"changes", out.plan.ops.size()}, {"elements", out.plan.element_count()}});
    } catch (const std::exception& e) {
        std::cerr << "warning: " << e.what() << "\n";
    }
    if (o.confirm_s) {
        std::string token = std::to_string(std::random_device{}()) + std::to_string(getpid());
        o.state.write_json(kPending, {{"token", token}, {"deadline_s", o.confirm_s}, {"time", now_iso()}});
        spawn_watcher(o, token);
        fmt::print("run `ivozfw confirm` within {} seconds to keep it; otherwise the previous table "
                   "is restored\n", o.confirm_s);
    }
    if (d.geoip) record_geoip(o, *d.geoip);
    return d.warnings.empty() ? 0 : kExitWarnings;
}

int cmd_confirm(const Options& o) {
    auto pending = o.state.read_json(kPending);
    if (!pending) {
        std::cerr << "ivozfw: nothing to confirm (no `apply --confirm` is waiting in " << o.state.path << ")\n";
        return 1;
    }
    o.state.remove(kPending);
    o.state.remove(kSnapshot);
    fmt::print("confirmed: the applied table stays\n");
    return 0;
}

int cmd_rollback_watch(const Options& o) {
    std::this_thread::sleep_for(std::chrono::seconds(o.confirm_s));
    auto pending = o.state.read_json(kPending);
    if (!pending || pending->value("token", "") != o.token) return 0;   // confirmed
    auto snap = o.state.read_json(kSnapshot);
    if (!snap) throw std::runtime_error("rollback: snapshot " + o.state.file(kSnapshot) + " is missing");
    nft::Netlink nl;
    auto out = restore_snapshot(o, nl, *snap);
    o.state.write_json("last-rollback.json", {{"time", now_iso()}, {"changes", out.plan.ops.size()}});
    o.state.remove(kPending);
    return 0;
}

int cmd_remove(const Options& o) {
    std::string name = table_name(o);
    nft::Netlink nl;
    auto opt = reconcile_options(o);
    opt.make_plan = [&](const std::optional<ruleset::Table>& live) { return plan::plan_remove(live, name); };
    ruleset::Table empty;
    empty.name = name;
    auto out = nft::reconcile(nl, empty, opt);
    if (out.plan.empty()) fmt::print("table inet {} is not loaded: nothing to remove\n", name);
    else fmt::print("table inet {} removed\n", name);
    return 0;
}

}  // namespace ivozfw::cli
