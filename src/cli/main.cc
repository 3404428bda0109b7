// SPDX-License-Identifier: GPL-2.0-or-later
// ivozfw: flags and dispatch only; the work is in cli/commands.cc and the stages below it.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
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
    {"check", "validate the policy (no kernel)", cli::cmd_check, true},
    {"diff", "show what apply would change in the live kernel (exit 0 none, 2 changes, 1 error)", cli::cmd_diff, true},
    {"apply", "bring the kernel in line with the policy in one transaction", cli::cmd_apply, true},
    {"confirm", "keep what the last `apply --confirm` put in place", cli::cmd_confirm, false},
    {"export", "print the compiled table as an nft script (nft -f accepts it)", cli::cmd_export, true},
    {"remove", "delete ivozfw's table, nothing else", cli::cmd_remove, true},
};

const Command kGeoipRefresh{"refresh", "", cli::cmd_geoip_refresh, true};
const Command kGeoipLookup{"lookup", "", cli::cmd_geoip_lookup, true};

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
        if (std::string(c.name) == "apply") {
            sub->add_option("--confirm", o.confirm_s, "roll back after N seconds unless `ivozfw confirm` runs")
                ->check(CLI::Range(1u, 86400u));
            sub->add_flag("--force", o.force, "apply even if it would lock out the current SSH session");
        }
        if (std::string(c.name) == "remove") sub->add_option("--table", o.table, "table name (default: the policy's)");
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
    } catch (const std::exception& e) {
        std::cerr << "ivozfw: " << e.what() << "\n";
        return 1;
    }
    return 1;
}
