// SPDX-License-Identifier: GPL-2.0-or-later
// ivozfw's command line: flags and dispatch only; the work is in cli/*_commands.cc and the
// stages below them. main.cc calls run(); a test binary may call it with another kernel.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "cli/run.h"
#include "io/lock.h"
#include "companies/companies.h"
#include "geoip/mmdb.h"
#include "nft/netlink.h"
#include "policy/policy.h"
#include "policy/reader.h"

namespace ivozfw::cli {

namespace {

struct Command {
    const char* name;   // "geoip refresh": a subcommand of "geoip"
    const char* help;
    int (*run)(const Options&);
    bool takes_policy;
};

const Command kCommands[] = {
    {"check", "validate the policy (with --kernel, also let the kernel validate the batch)", cmd_check, true},
    {"diff", "show what apply would change in the live kernel (exit 0 none, 2 changes, 1 error)", cmd_diff, true},
    {"apply", "bring the kernel in line with the policy in one transaction", cmd_apply, true},
    {"confirm", "keep what the last `apply --confirm` put in place", cmd_confirm, false},
    {"rollback", "restore now the table an unconfirmed `apply --confirm` replaced", cmd_rollback, false},
    {"export", "print the compiled table as an nft script (nft -f accepts it)", cmd_export, true},
    {"remove", "delete ivozfw's table, nothing else", cmd_remove, true},
    {"bans", "list sources banned by anti-flood, with the time left", cmd_bans, true},
    {"unban", "lift the anti-flood ban of an address", cmd_unban, true},
    {"ban", "ban an address by hand (anti-flood ban set)", cmd_ban, true},
    {"status", "is the table loaded and equal to the policy; drops per reason, set sizes, data ages "
               "(exit 0 in sync, 2 differs, 4 not loaded, 6 unconfirmed apply without a watcher or its state damaged, 7 watch backing off, "
               "1 error)",
     cmd_status, true},
    {"explain", "what happens to a new packet from SOURCE to PROTO/PORT, and why "
                "(exit 0 accepted, 5 dropped, 1 error)", cmd_explain, true},
    {"geoip refresh", "re-read the database, update only the GeoIP sets", cmd_geoip_refresh, true},
    {"geoip lookup", "country of an address, and what the table does with it", cmd_geoip_lookup, true},
    {"companies sync", "bring the company sets in line with the source (only the delta)", cmd_companies_sync, true},
    {"platform sync", "bring every set the platform database fills in line with it (only the delta)",
     cmd_platform_sync, true},
    {"bansync", "share this host's bans with the fleet and enforce theirs (long-running; fleet section)",
     cmd_bansync, true},
    {"watch", "keep the table in force: restore it when another tool deletes or changes it (long-running)",
     cmd_watch, true},
    {"companies list", "company -> ranges as loaded, and which are in the kernel", cmd_companies_list, true},
    {"companies show", "one company's ranges, and which are in the kernel", cmd_companies_show, true},
};

const std::map<std::string, std::string> kGroups = {
    {"geoip", "GeoIP country sets"},
    {"companies", "company authorized IP ranges"},
    {"platform", "the address lists IvozProvider's database holds"},
};

// "did you mean" for a mistyped command word, among the words valid at that level.
std::string suggestion(const std::string& word, const std::string& parent) {
    std::vector<std::string> words;
    for (const auto& c : kCommands) {
        std::string n = c.name;
        auto sp = n.find(' ');
        std::string group = sp == std::string::npos ? "" : n.substr(0, sp);
        if (parent.empty()) words.push_back(group.empty() ? n : group);   // top level: the group word
        else if (group == parent) words.push_back(n.substr(sp + 1));
    }
    return policy::detail::closest(word, words);
}

int report(const std::exception_ptr& ep);

bool known(const std::string& word, const std::string& parent) {
    for (const auto& c : kCommands) {
        std::string n = c.name;
        if (parent.empty() ? (n == word || n.starts_with(word + " ")) : n == parent + " " + word) return true;
    }
    return parent.empty() && word == "rollback-watch";
}

// A mistyped command word: say which one and name the closest valid one (CLI11 would only
// say that a subcommand is required).
int check_command_words(int argc, char** argv, const std::map<std::string, CLI::App*>& groups) {
    std::string parent;
    for (int i = 1; i < argc; ++i) {
        std::string w = argv[i];
        if (w == "--state-dir") {
            ++i;
            continue;
        }
        if (w.starts_with("-")) {
            if (w == "-h" || w == "--help" || w == "--version") return 0;
            continue;
        }
        if (!known(w, parent)) {
            std::string hint = suggestion(w, parent);
            std::string pre = parent.empty() ? "" : parent + " ";
            std::cerr << "ivozfw: unknown command '" << pre << w << "'"
                      << (hint.empty() ? "" : ", did you mean '" + pre + hint + "'?") << " (`ivozfw --help` lists them)\n";
            return 1;
        }
        if (!parent.empty() || !groups.count(w)) return 0;
        parent = w;
    }
    return 0;
}

}  // namespace

namespace {

// Flags of one command, by name. Kept beside the table so a new command is one place.
void add_flags(CLI::App* sub, const std::string& name, Options& o) {
    if (name == "diff" || name == "bans" || name == "companies list" || name == "companies show")
        sub->add_flag("--json", o.json, "print JSON");
    if (name == "check")
        sub->add_flag("--kernel", o.kernel, "send apply's batch without committing it: the kernel checks every message");
    if (name == "apply") {
        sub->add_option("--confirm", o.confirm_s, "roll back after N seconds unless `ivozfw confirm` runs")
            ->check(CLI::Range(1u, 86400u));
        sub->add_flag("--force", o.force, "apply even if it would lock out the current SSH session");
        sub->add_flag("--boot", o.boot, "at boot: restore the table of an unconfirmed `apply --confirm` instead");
    }
    if (name == "remove" || name == "confirm" || name == "rollback")
        sub->add_option("--table", o.table, "table name (default: the policy's)");
    if (name == "unban" || name == "ban")
        sub->add_option("address", o.address, "IPv4 or IPv6 address (IPv6: its antiflood.ipv6_prefix)")->required();
    if (name == "ban") sub->add_option("--for", o.ban_for, "how long (300s, 5m, 1h, 1d; default: antiflood.ban)");
    if (name == "status") {
        sub->add_flag("--json", o.json, "print JSON (same as --format json)");
        sub->add_option("--format", o.format, "text (default), json or prometheus")
            ->check(CLI::IsMember({"text", "json", "prometheus"}));
        sub->add_option("-o,--output", o.output, "write to FILE (atomically) instead of stdout");
    }
    if (name == "explain") {
        sub->add_option("source", o.address, "source IPv4 or IPv6 address")->required();
        sub->add_option("proto_port", o.proto_port, "tcp/PORT or udp/PORT; omitted: every exposed service");
        sub->add_flag("--forwarded", o.forwarded,
                      "the packet is DNATed by another table to a container or VM (Docker's -p): "
                      "the forward hook, judged by the port it was sent to");
        sub->add_flag("--json", o.json, "print JSON");
    }
    if (name == "geoip refresh") sub->add_flag("--force", o.force, "accept a database that is older or shrinks the sets a lot");
    if (name == "geoip lookup") {
        sub->add_option("address", o.address, "IPv4 or IPv6 address")->required();
        sub->add_flag("--json", o.json, "print JSON");
    }
    if (name.starts_with("companies "))
        sub->add_option("--source", o.source, "directory, JSON file, - (stdin) or mysql:<credentials file>");
    if (name == "companies sync" || name == "platform sync")
        sub->add_flag("--force", o.force, "accept a sync that removes more than max_remove_percent of a list");
    if (name == "companies show") sub->add_option("id", o.company_id, "company id")->required();
}

int report(const std::exception_ptr& ep) {
    try {
        std::rethrow_exception(ep);
    } catch (const policy::LoadError& e) {
        for (const auto& d : e.diagnostics) std::cerr << d.str() << "\n";
        std::cerr << "ivozfw: policy rejected, nothing was changed\n";
    } catch (const AfterCommit& e) {
        std::cerr << "ivozfw: " << e.what() << "\n";
    } catch (const nft::KernelError& e) {
        std::cerr << "ivozfw: kernel: " << e.what() << "\n"
                  << (e.changed == nft::Changed::no ? "ivozfw: nothing was changed\n"
                                                    : "ivozfw: the batch was sent and its outcome is not known: "
                                                      "run `ivozfw diff` to see what the kernel has\n");
    } catch (const geoip::Error& e) {
        std::cerr << "ivozfw: GeoIP: " << e.what() << "\nivozfw: nothing was changed\n";
    } catch (const companies::SourceError& e) {
        std::string what = e.what();
        std::cerr << "ivozfw: " << (what.starts_with("database ") ? "" : "company source: ") << what
                  << "\nivozfw: nothing was changed\n";
    } catch (const io::LockTimeout& e) {
        std::cerr << "ivozfw: " << e.what() << "\nivozfw: nothing was changed\n";
    } catch (const std::exception& e) {
        // Everything else fails before the commit (a command's post-commit failures are
        // AfterCommit): the kernel was not touched.
        std::cerr << "ivozfw: " << e.what() << "\nivozfw: nothing was changed\n";
    }
    return 1;
}

}  // namespace

int run(int argc, char** argv, Options o) {
    CLI::App app{"ivozfw: the nftables firewall for IvozProvider VoIP platforms"};
    app.set_version_flag("--version", IVOZFW_VERSION);
    app.require_subcommand(1);
    if (const char* s = std::getenv("IVOZFW_STATE_DIR")) o.state.path = s;
    if (const char* p = std::getenv("IVOZFW_POLICY")) o.policy = p;
    app.add_option("--state-dir", o.state.path, "state directory (last apply, rollback snapshot, writers' lock)");

    std::map<std::string, CLI::App*> groups;
    std::map<CLI::App*, const Command*> dispatch;
    for (const auto& c : kCommands) {
        std::string name = c.name;
        CLI::App* parent = &app;
        std::string leaf = name;
        if (auto sp = name.find(' '); sp != std::string::npos) {
            std::string g = name.substr(0, sp);
            leaf = name.substr(sp + 1);
            if (!groups.count(g)) {
                groups[g] = app.add_subcommand(g, kGroups.at(g));
                groups[g]->require_subcommand(1);
            }
            parent = groups[g];
        }
        auto* sub = parent->add_subcommand(leaf, c.help);
        dispatch[sub] = &c;
        if (c.takes_policy) sub->add_option("-p,--policy", o.policy, "policy file (default /etc/ivozfw/policy.json)");
        add_flags(sub, name, o);
    }
    auto* watch = app.add_subcommand("rollback-watch", "")->group("");   // internal, hidden
    watch->add_option("--token", o.token)->required();
    watch->add_option("--ready-fd", o.ready_fd);
    watch->add_option("--deadline-boot-ms", o.deadline_boot_ms)->required();

    if (int rc = check_command_words(argc, argv, groups); rc) return rc;
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 1;
    }
    try {
        if (watch->parsed()) {
            o.command = "rollback-watch";
            return cmd_rollback_watch(o);
        }
        for (auto& [sub, c] : dispatch)
            if (sub->parsed()) {
                o.command = c->name;
                warn_unconfirmed(o);
                return c->run(o);
            }
    } catch (...) {
        return report(std::current_exception());
    }
    return 1;
}

}  // namespace ivozfw::cli
