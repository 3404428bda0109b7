// SPDX-License-Identifier: GPL-2.0-or-later
#include "cli/desired.h"

#include <ctime>
#include <iostream>

#include "nft/netlink.h"

namespace ivozfw::cli {

std::string now_iso() {
    char buf[32];
    std::time_t t = std::time(nullptr);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

std::unique_ptr<nft::Kernel> open_kernel(const Options& o) {
    if (o.open_kernel) return o.open_kernel();
    return std::make_unique<nft::Netlink>();
}

nft::ReconcileOptions reconcile_options(const Options& o) {
    nft::ReconcileOptions opt;
    opt.lock_holder = o.command.empty() ? "ivozfw" : o.command;
    opt.deadline = std::chrono::milliseconds(o.retry_deadline_ms);
    try {
        o.state.ensure();
        opt.cache_path = o.state.file("elements.cache");
        opt.lock_path = o.state.file(kWriterLock);
    } catch (const std::exception&) {
        // No writable state directory: every read dumps the elements, and there is no lock
        // to share with other ivozfw writers (the generation id still guards every commit).
    }
    return opt;
}

int exit_status(const Desired& d, const nft::Outcome& out) {
    return d.warnings.empty() && out.warnings.empty() ? 0 : kExitWarnings;
}

void warn(Desired& d, const std::string& msg) {
    std::cerr << "warning: " << msg << "\n";
    d.warnings.push_back(msg);
}

policy::Policy load_policy(const Options& o) {
    std::vector<policy::Diagnostic> warnings;
    auto p = policy::load_file(o.policy, &warnings);
    for (const auto& w : warnings) std::cerr << w.str() << "\n";
    return p;
}

namespace {

void keep(Desired& d, const char* base) {
    d.keep_live.insert(ruleset::names::list_set(base, false));
    d.keep_live.insert(ruleset::names::list_set(base, true));
}

}  // namespace

Desired build_desired(const Options& o, OnSourceError on_error, Needs needs) {
    Desired d;
    d.policy = load_policy(o);
    ruleset::Sources src;
    if (d.policy.geoip && !needs.geoip) src.geoip_drop = net::AddressSet{};
    if (d.policy.geoip && needs.geoip) {
        try {
            d.geoip = geoip::resolve(*d.policy.geoip);
            src.geoip_drop = d.geoip->drop;
        } catch (const geoip::Error& e) {
            if (on_error == OnSourceError::fail) throw;
            warn(d, std::string(e.what()) + "; the GeoIP sets keep what the kernel has");
            src.geoip_drop = net::AddressSet{};
            keep(d, ruleset::names::geoip);
        }
    }
    if (d.policy.companies && needs.companies) {
        std::string source = o.source.empty() ? d.policy.companies->source : o.source;
        try {
            d.companies = companies::load(source);
            for (const auto& w : d.companies->warnings) warn(d, w);
            src.companies = d.companies->all();
        } catch (const companies::SourceError& e) {
            if (on_error == OnSourceError::fail) throw;
            warn(d, std::string(e.what()) + "; the company ranges keep what the kernel has");
            keep(d, ruleset::names::companies);
        }
    }
    d.table = ruleset::compile(d.policy, src);
    nft::annotate(d.table);
    return d;
}

plan::Plan plan_keeping(const Desired& d, const std::optional<ruleset::Table>& live, const plan::Scope& scope) {
    if (d.keep_live.empty() || !live) return plan::plan(d.table, live, scope);
    ruleset::Table t = d.table;
    for (const auto& name : d.keep_live) {
        auto l = live->sets.find(name);
        auto w = t.sets.find(name);
        if (l != live->sets.end() && w != t.sets.end() && w->second.same_definition(l->second))
            w->second.elements = l->second.elements;
    }
    return plan::plan(t, live, scope);
}

}  // namespace ivozfw::cli
