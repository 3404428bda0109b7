// SPDX-License-Identifier: GPL-2.0-or-later
// ivozfw platform sync | companies sync: bring the sets the platform database (or the
// company source) fills in line with it, in one scoped transaction: only those sets are
// read and planned, elements sent = the delta, a no-op sends nothing. The remove guard holds
// a list that would suddenly shrink (exit 3) unless --force.
#include <fmt/format.h>

#include <chrono>
#include <iostream>

#include "cli/desired.h"
#include "nft/reconcile.h"
#include "ruleset/values.h"

namespace ivozfw::cli {

namespace {

std::pair<size_t, size_t> added_removed(const plan::Plan& p) {
    size_t add = 0, del = 0;
    for (const auto& op : p.ops) {
        if (op.verb == plan::Op::add_elements) add += op.elements.size();
        if (op.verb == plan::Op::delete_elements) del += op.elements.size();
    }
    return {add, del};
}

double ms_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

std::string read_line(const Desired& d, bool lists, double ms) {
    const auto& c = *d.companies;
    size_t bad = c.skipped + (d.platform ? d.platform->bad_rows : 0);
    std::string what = fmt::format("{} companies, {} ranges", c.companies.size(), c.range_count());
    if (lists && d.platform)
        what += fmt::format(", {} application servers and proxies, {} carrier addresses",
                            d.platform->application_servers.size(), d.platform->carriers.size());
    return fmt::format("{}: {} ({} bad rows skipped), read in {:.1f} ms", c.source, what, bad, ms);
}

}  // namespace

int sync_sources(const Options& o, bool lists) {
    auto t0 = std::chrono::steady_clock::now();
    auto d = build_desired(o, OnSourceError::fail,
                           Needs{.geoip = false, .companies = true, .platform_lists = lists, .notes = false});
    if (!d.policy.companies) throw std::runtime_error(o.policy + ": the policy has no companies or platform section");
    if (lists && !d.policy.platform) throw std::runtime_error(o.policy + ": the policy has no platform section");
    fmt::print("{}\n", read_line(d, lists, ms_since(t0)));
    auto kernel = open_kernel(o);
    auto opt = reconcile_options(o);
    opt.scope = plan::Scope{source_sets(d, true, lists)};
    opt.read_only = *opt.scope.sets_only;   // never dump the GeoIP sets for a sync
    opt.make_plan = [&](const std::optional<ruleset::Table>& live) {
        if (live && !o.force) guard_removals(d, *live);
        return plan_keeping(d, live, opt.scope);
    };
    auto t1 = std::chrono::steady_clock::now();
    auto out = nft::reconcile(*kernel, d.table, opt);
    auto [add, del] = added_removed(out.plan);
    const char* what = lists ? "platform" : "company";
    if (out.plan.empty())
        fmt::print("{} sets already up to date: +0 -0 elements, nothing sent\n", what);
    else
        fmt::print("{} sets updated in one transaction: +{} -{} elements ({} messages, {} bytes, {:.1f} ms)\n", what,
                   add, del, out.stats.messages, out.stats.bytes, ms_since(t1));
    record_sources(o, d);
    return exit_status(d, out);
}

int cmd_platform_sync(const Options& o) { return sync_sources(o, true); }
int cmd_companies_sync(const Options& o) { return sync_sources(o, false); }

}  // namespace ivozfw::cli
