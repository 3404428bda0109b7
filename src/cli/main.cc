// SPDX-License-Identifier: GPL-2.0-or-later
// ivozfw: flags and dispatch only; the work is in cli/commands.cc and the stages below it.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "companies/companies.h"
#include "geoip/mmdb.h"
#include "nft/netlink.h"
#include "policy/policy.h"

using namespace ivozfw;

namespace {

struct Command {
    const char* name;
    const char* help;
    int (*run)(const cli::Options&);
    bool takes_policy;
};

const Command kCommands[] = {
    {"check", "validate the policy (with --kernel, also let the kernel validate the batch)", cli::cmd_check, true},
    {"diff", "show what apply would change in the live kernel (exit 0 none, 2 changes, 1 error)", cli::cmd_diff, true},
    {"apply", "bring the kernel in line with the policy in one transaction", cli::cmd_apply, true},
    {"confirm", "keep what the last `apply --confirm` put in place", cli::cmd_confirm, false},
    {"export", "print the compiled table as an nft script (nft -f accepts it)", cli::cmd_export, true},
    {"remove", "delete ivozfw's table, nothing else", cli::cmd_remove, true},
    {"bans", "list sources banned by anti-flood, with the time left", cli::cmd_bans, true},
    {"unban", "lift the anti-flood ban of an address", cli::cmd_unban, true},
    {"ban", "ban an address by hand (anti-flood ban set)", cli::cmd_ban, true},
    {"status", "is the table loaded and equal to the policy; drops per reason, set sizes, data ages "
               "(exit 0 in sync, 2 differs, 4 not loaded, 1 error)", cli::cmd_status, true},
    {"explain", "what happens to a new packet from SOURCE to PROTO/PORT, and why "
                "(exit 0 accepted, 5 dropped, 1 error)", cli::cmd_explain, true},
};

const Command kGeoipRefresh{"refresh", "", cli::cmd_geoip_refresh, true};
const Command kGeoipLookup{"lookup", "", cli::cmd_geoip_lookup, true};
const Command kCompaniesSync{"sync", "", cli::cmd_companies_sync, true};
const Command kCompaniesList{"list", "", cli::cmd_companies_list, true};
const Command kCompaniesShow{"show", "", cli::cmd_companies_show, true};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"ivozfw: the nftables firewall for IvozProvider VoIP platforms"};
    app.set_version_flag("--version", IVOZFW_VERSION);
    app.require_subcommand(1);
    cli::Options o;
    if (const char* s = std::getenv("IVOZFW_STATE_DIR")) o.state.path = s;
    if (const char* p = std::getenv("IVOZFW_POLICY")) o.policy = p;
    app.add_option("--state-dir", o.state.path, "state directory (last apply, rollback snapshot)");

    std::map<CLI::App*, const Command*> dispatch;
    for (const auto& c : kCommands) {
        auto* sub = app.add_subcommand(c.name, c.help);
        dispatch[sub] = &c;
        if (c.takes_policy) sub->add_option("-p,--policy", o.policy, "policy file (default /etc/ivozfw/policy.json)");
        if (std::string(c.name) == "diff") sub->add_flag("--json", o.json, "print the plan as JSON");
        if (std::string(c.name) == "check")
            sub->add_flag("--kernel", o.kernel, "send apply's batch without committing it: the kernel checks every message");
        if (std::string(c.name) == "apply") {
            sub->add_option("--confirm", o.confirm_s, "roll back after N seconds unless `ivozfw confirm` runs")
                ->check(CLI::Range(1u, 86400u));
            sub->add_flag("--force", o.force, "apply even if it would lock out the current SSH session");
        }
        if (std::string(c.name) == "remove") sub->add_option("--table", o.table, "table name (default: the policy's)");
        if (std::string(c.name) == "bans") sub->add_flag("--json", o.json, "print the bans as JSON");
        if (std::string(c.name) == "unban" || std::string(c.name) == "ban")
            sub->add_option("address", o.address, "IPv4 or IPv6 address (IPv6: its antiflood.ipv6_prefix)")->required();
        if (std::string(c.name) == "ban")
            sub->add_option("--for", o.ban_for, "how long (300s, 5m, 1h, 1d; default: antiflood.ban)");
        if (std::string(c.name) == "status") {
            sub->add_flag("--json", o.json, "print JSON (same as --format json)");
            sub->add_option("--format", o.format, "text (default), json or prometheus")
                ->check(CLI::IsMember({"text", "json", "prometheus"}));
            sub->add_option("-o,--output", o.output, "write to FILE (via FILE.tmp + rename) instead of stdout");
        }
        if (std::string(c.name) == "explain") {
            sub->add_option("source", o.address, "source IPv4 or IPv6 address")->required();
            sub->add_option("proto_port", o.proto_port, "tcp/PORT or udp/PORT; omitted: every exposed service");
            sub->add_flag("--json", o.json, "print JSON");
        }
    }
    auto* geoip = app.add_subcommand("geoip", "GeoIP country sets");
    geoip->require_subcommand(1);
    auto* refresh = geoip->add_subcommand("refresh", "re-read the database, update only the GeoIP sets");
    refresh->add_option("-p,--policy", o.policy, "policy file");
    refresh->add_flag("--force", o.force, "accept a database that is older or shrinks the sets a lot");
    auto* lookup = geoip->add_subcommand("lookup", "country of an address, and whether the policy drops it");
    lookup->add_option("-p,--policy", o.policy, "policy file");
    lookup->add_option("address", o.address, "IPv4 or IPv6 address")->required();
    dispatch[refresh] = &kGeoipRefresh;
    dispatch[lookup] = &kGeoipLookup;

    auto* comp = app.add_subcommand("companies", "company authorized IP ranges");
    comp->require_subcommand(1);
    auto* sync = comp->add_subcommand("sync", "bring the company sets in line with the source (only the delta)");
    auto* list = comp->add_subcommand("list", "company -> ranges as loaded, and which are in the kernel");
    auto* show = comp->add_subcommand("show", "one company's ranges, and which are in the kernel");
    for (auto* sub : {sync, list, show}) {
        sub->add_option("-p,--policy", o.policy, "policy file");
        sub->add_option("--source", o.source, "directory, JSON file, - (stdin) or mysql:<credentials file>");
    }
    sync->add_flag("--force", o.force, "accept a sync that removes more than companies.max_remove_percent");
    list->add_flag("--json", o.json, "print JSON");
    show->add_flag("--json", o.json, "print JSON");
    show->add_option("id", o.company_id, "company id")->required();
    dispatch[sync] = &kCompaniesSync;
    dispatch[list] = &kCompaniesList;
    dispatch[show] = &kCompaniesShow;

    auto* watch = app.add_subcommand("rollback-watch", "")->group("");   // internal, hidden
    watch->add_option("--token", o.token)->required();
    watch->add_option("--after", o.confirm_s)->required();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 1;
    }
    try {
        if (watch->parsed()) return cli::cmd_rollback_watch(o);
        for (auto& [sub, c] : dispatch)
            if (sub->parsed()) return c->run(o);
    } catch (const policy::LoadError& e) {
        for (const auto& d : e.diagnostics) std::cerr << d.str() << "\n";
        std::cerr << "ivozfw: policy rejected, nothing was changed\n";
        return 1;
    } catch (const nft::KernelError& e) {
        std::cerr << "ivozfw: kernel: " << e.what() << "\nivozfw: nothing was changed\n";
        return 1;
    } catch (const geoip::Error& e) {
        std::cerr << "ivozfw: GeoIP: " << e.what() << "\nivozfw: nothing was changed\n";
        return 1;
    } catch (const companies::SourceError& e) {
        std::cerr << "ivozfw: company source: " << e.what() << "\nivozfw: nothing was changed\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "ivozfw: " << e.what() << "\n";
        return 1;
    }
    return 1;
}
