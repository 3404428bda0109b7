// SPDX-License-Identifier: GPL-2.0-or-later
// ivozfw status [--json | --format text|json|prometheus] [--output FILE]
//
// Is the table loaded and equal to the policy (the check diff makes, summarised), the drop
// counters per reason, the size of every set (dynamic meters with their capacity), and
// when the policy, the GeoIP database and the company ranges were last brought in.
// Exit: 0 loaded and equal, 2 loaded but differs from the policy, 4 not loaded, 6 an
// unconfirmed apply nobody will act on, 7 ivozfw watch is backing off, 1 error.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/confirm.h"
#include "plan/report.h"
#include "cli/desired.h"
#include "cli/neighbours.h"
#include "io/atomic_file.h"
#include "nft/reconcile.h"
#include "watch/watch.h"

namespace ivozfw::cli {

namespace {

constexpr int kExitDiffers = 2;
constexpr int kExitMissing = 4;
constexpr int kExitUnconfirmed = 6;   // an apply --confirm nobody will roll back or confirm
constexpr int kExitWatchBackingOff = 7;   // ivozfw watch gave up restoring for now: a tool keeps changing the table

// "2024-05-01T10:00:00Z" -> seconds since the epoch; 0 when absent or unreadable.
int64_t epoch_of(const std::string& iso) {
    std::tm tm{};
    std::istringstream in(iso);
    in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
    if (in.fail()) return 0;
    return int64_t(timegm(&tm));
}

std::string iso_of(int64_t t) {
    if (t <= 0) return "";
    char buf[32];
    std::time_t tt = t;
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&tt));
    return buf;
}

struct SetInfo {
    std::string name;
    size_t elements = 0;
    uint32_t capacity = 0;   // dynamic sets: the size they were created with
    bool dynamic = false;
    bool interval = false;
};

struct Status {
    std::string table;
    bool loaded = false;
    size_t pending = 0;
    std::vector<std::string> pending_lines;   // "add_elements geoip_v4 (+12)"
    std::vector<ruleset::Counter> drops;      // drop_* counters, live (zero when not loaded)
    std::vector<SetInfo> sets;
    int64_t last_apply = 0;
    std::string last_apply_policy;
    int64_t geoip_build = 0, geoip_refresh = 0;
    std::string geoip_database;
    int64_t companies_sync = 0;
    std::string companies_source;
    size_t companies_skipped = 0;
    int64_t platform_sync = 0;       // platform.json: the rows the last apply/sync loaded
    std::string platform_source;
    size_t application_servers = 0, carriers = 0, platform_skipped = 0;
    std::vector<std::string> bad_rows;   // named by table and id
    std::vector<std::string> notes;      // platform rows fine but not loaded (host names)
    std::string confirm;     // "" none; "armed until ...", "ORPHANED ...", "rollback FAILED ..."
    bool confirm_problem = false;
    std::vector<std::string> neighbours;   // other tables whose verdicts can override ivozfw's
    bool watch_up = false;
    nlohmann::json watch = nlohmann::json::object();   // watch.json of the running (or last) `ivozfw watch`
    std::vector<std::string> warnings;
    size_t printed = 0;   // warnings build_desired already printed
};

std::string reason_of(const std::string& counter) {
    return counter.starts_with("drop_") ? counter.substr(5) : counter;
}


// A pending `apply --confirm`: fine while its watcher lives; a problem once nobody will act.
void confirm_state(const Options& o, Status& s) {
    std::optional<nlohmann::json> st;
    try {
        st = confirm::pending(o);
    } catch (const Damaged& e) {
        s.confirm = std::string("apply --confirm state DAMAGED (") + e.what() + "): " +
                    (confirm::watcher_alive(o) ? "its watcher restores the previous table at its deadline"
                                               : "no watcher is running") +
                    "; `ivozfw rollback` restores it now";
        s.confirm_problem = true;
        return;
    }
    if (!st) return;
    std::string state = st->value("state", "");
    int64_t deadline = st->value("deadline_ms", int64_t{0}) / 1000;
    if (state == "armed" && confirm::watcher_alive(o))
        s.confirm = "apply --confirm pending: rolled back at " + iso_of(deadline) + " unless `ivozfw confirm` runs";
    else if (state == "armed") {
        s.confirm = "apply --confirm of " + iso_of(st->value("armed_ms", int64_t{0}) / 1000) +
                    " NOT CONFIRMED and no watcher will roll it back: `ivozfw confirm` or `ivozfw rollback`";
        s.confirm_problem = true;
    } else if (state == "rollback_failed") {
        s.confirm = "rollback of an unconfirmed apply FAILED: " + st->value("error", "?");
        s.confirm_problem = true;
    }
}

Status collect(const Options& o) {
    Status s;
    // An unchanged GeoIP database is not walked again: its sets are what was loaded from it
    // (`ivozfw diff` compares them in full).
    Needs needs;
    needs.geoip_if_changed = true;
    needs.notes = false;   // its report lists the notes of the last apply or sync
    auto d = build_desired(o, OnSourceError::keep_live, needs);
    s.table = d.table.name;
    s.warnings = d.warnings;
    s.printed = d.warnings.size();
    confirm_state(o, s);
    auto kernel = open_kernel(o);
    auto& nl = *kernel;
    auto opt = reconcile_options(o);
    opt.dry_run = true;
    opt.make_plan = plan_as_apply(d);
    auto out = nft::reconcile(nl, d.table, opt);
    s.loaded = out.before.has_value();
    s.neighbours = overriding_neighbours(nl, d.table.name);
    s.pending = out.plan.ops.size();
    for (const auto& op : out.plan.ops) {
        std::string line = fmt::format("{} {}", plan::verb_words(op.verb), op.name);
        if (!op.elements.empty()) line += fmt::format(" ({} elements)", op.elements.size());
        if (!op.rule.id.empty()) line += " (rule " + op.rule.id + ")";
        if (!op.why.empty()) line += ": " + op.why;
        s.pending_lines.push_back(line);
    }
    // GeoIP sets taken as loaded: at least their sizes must be what was loaded (a flushed or
    // hand-edited set shows here; `ivozfw diff` compares every element).
    if (d.geoip_as_loaded && out.before) {
        auto rec = o.state.read_json("geoip.json");
        for (bool v6 : {false, true}) {
            auto name = ruleset::names::list_set(ruleset::names::geoip, v6);
            auto it = out.before->sets.find(name);
            size_t have = it == out.before->sets.end() ? 0 : it->second.elements.size();
            size_t want = rec ? rec->value(v6 ? "intervals_v6" : "intervals_v4", size_t{0}) : 0;
            if (have == want) continue;
            ++s.pending;
            s.pending_lines.push_back(fmt::format("set {}: {} intervals in the kernel, {} loaded from the GeoIP "
                                                  "database (run `ivozfw diff`)", name, have, want));
        }
    }
    // Counters: the live ones; the desired names when the table is missing (all zero).
    const auto& counters = s.loaded ? out.before->counters : d.table.counters;
    for (const auto& [name, c] : counters)
        if (name.starts_with("drop_")) s.drops.push_back(c);
    if (s.loaded)
        for (const auto& [name, set] : out.before->sets)
            s.sets.push_back(SetInfo{name, set.elements.size(), set.size, set.dynamic, set.interval});
    auto read = [&](const char* f) -> std::optional<nlohmann::json> {
        try {
            return o.state.read_json(f);
        } catch (const std::exception& e) {
            s.warnings.push_back(e.what());
            return std::nullopt;
        }
    };
    s.watch_up = watch_running(o);
    if (auto j = read(watch::kStateFile); j && j->is_object()) s.watch = *j;
    if (auto j = read("last-apply.json")) {
        s.last_apply = epoch_of(j->value("time", ""));
        s.last_apply_policy = j->value("policy", "");
    }
    if (auto j = read("geoip.json")) {
        s.geoip_build = j->value("build_epoch", int64_t{0});
        s.geoip_refresh = epoch_of(j->value("time", ""));
        s.geoip_database = j->value("database", "");
    }
    if (auto j = read("companies.json")) {
        s.companies_sync = epoch_of(j->value("time", ""));
        s.companies_source = j->value("source", "");
        s.companies_skipped = j->value("skipped", size_t{0});
        for (const auto& w : j->value("warnings", nlohmann::json::array()))
            if (w.is_string() && w.get<std::string>().ends_with("row skipped")) s.bad_rows.push_back(w);
    }
    if (auto j = read("platform.json")) {
        s.platform_sync = epoch_of(j->value("time", ""));
        s.platform_source = j->value("source", "");
        s.application_servers = j->value("application_servers", nlohmann::json::array()).size();
        s.carriers = j->value("carriers", nlohmann::json::array()).size();
        s.platform_skipped = j->value("skipped", size_t{0});
        for (const auto& w : j->value("warnings", nlohmann::json::array()))
            if (w.is_string() && w.get<std::string>().ends_with("row skipped")) s.bad_rows.push_back(w);
        for (const auto& n : j->value("notes", nlohmann::json::array()))
            if (n.is_string()) s.notes.push_back(n);
    }
    return s;
}

bool backing_off(const Status& s) { return s.watch_up && s.watch.value("backing_off", false); }

std::string watch_line(const Status& s) {
    const auto& w = s.watch;
    if (!s.watch_up)
        return "NOT RUNNING: nothing restores the table if another tool deletes it "
               "(`systemctl enable --now ivozfw-watch`)";
    std::string out = fmt::format("running (pid {}, drift: {}), {} restore{}, {} change{} by other tools",
                                  w.value("pid", 0), w.value("drift", "?"), w.value("restores", 0),
                                  w.value("restores", 0) == 1 ? "" : "s", w.value("drifts", 0),
                                  w.value("drifts", 0) == 1 ? "" : "s");
    if (w.value("backing_off", false))
        out += fmt::format("\n                  BACKING OFF since {}: the table keeps being changed, watch restores it "
                           "after {} s without a change",
                           w.value("backing_off_since", "?"), w.value("resume_after_quiet_s", 0.0));
    if (!w.value("last_drift", "").empty())
        out += fmt::format("\n                  last: {} ({})", w.value("last_restore", "").empty()
                                                                  ? w.value("last_drift", "")
                                                                  : w.value("last_restore", ""),
                           w.value("last_drift_time", ""));
    return out;
}

int exit_code(const Status& s) {
    if (s.confirm_problem) return kExitUnconfirmed;
    if (backing_off(s)) return kExitWatchBackingOff;
    return !s.loaded ? kExitMissing : s.pending ? kExitDiffers : 0;
}

std::string text(const Status& s) {
    std::string out;
    auto line = [&](const std::string& l) { out += l + "\n"; };
    if (!s.loaded) line(fmt::format("table inet {}: NOT LOADED (run `ivozfw apply`)", s.table));
    else if (s.pending == 0) line(fmt::format("table inet {}: loaded, matches the policy", s.table));
    else {
        line(fmt::format("table inet {}: loaded, DIFFERS from the policy: {} pending change{} (see `ivozfw diff`)",
                         s.table, s.pending, s.pending == 1 ? "" : "s"));
        size_t n = 0;
        for (const auto& l : s.pending_lines) {
            if (++n > 10) {
                line(fmt::format("  ... and {} more", s.pending_lines.size() - 10));
                break;
            }
            line("  " + l);
        }
    }
    if (!s.confirm.empty()) line(s.confirm);
    line("");
    line(fmt::format("{:<16} {:>14} {:>16}", "DROPPED", "PACKETS", "BYTES"));
    for (const auto& c : s.drops) line(fmt::format("{:<16} {:>14} {:>16}", reason_of(c.name), c.packets, c.bytes));
    if (s.loaded) {
        line("");
        line(fmt::format("{:<24} {:>10} {:>10}  {}", "SET", "ELEMENTS", "CAPACITY", "KIND"));
        for (const auto& st : s.sets) {
            std::string cap = st.dynamic && st.capacity ? std::to_string(st.capacity) : "-";
            std::string kind = st.dynamic ? fmt::format("dynamic ({:.1f}% full)",
                                                        st.capacity ? 100.0 * st.elements / st.capacity : 0.0)
                             : st.interval ? "intervals" : "elements";
            line(fmt::format("{:<24} {:>10} {:>10}  {}", st.name, st.elements, cap, kind));
        }
    }
    line("");
    line("watch:            " + watch_line(s));
    for (const auto& n : s.neighbours) line("other table:      " + n);
    line(fmt::format("last apply:       {}{}", s.last_apply ? iso_of(s.last_apply) : "never (no record)",
                     s.last_apply_policy.empty() ? "" : " (" + s.last_apply_policy + ")"));
    if (s.geoip_refresh || s.geoip_build)
        line(fmt::format("GeoIP database:   {} built {}, loaded {}", s.geoip_database, iso_of(s.geoip_build),
                         iso_of(s.geoip_refresh)));
    if (s.companies_sync)
        line(fmt::format("company ranges:   last sync {} from {}", iso_of(s.companies_sync), s.companies_source));
    if (s.platform_sync)
        line(fmt::format("platform lists:   last sync {} from {}: {} application servers and proxies, {} carrier "
                         "addresses",
                         iso_of(s.platform_sync), s.platform_source, s.application_servers, s.carriers));
    if (!s.bad_rows.empty()) {
        line(fmt::format("bad rows skipped: {}", s.bad_rows.size()));
        for (size_t i = 0; i < s.bad_rows.size() && i < 10; ++i) line("  " + s.bad_rows[i]);
        if (s.bad_rows.size() > 10) line(fmt::format("  ... and {} more", s.bad_rows.size() - 10));
    }
    if (!s.notes.empty()) {
        line(fmt::format("platform rows not loaded: {}", s.notes.size()));
        for (size_t i = 0; i < s.notes.size() && i < 10; ++i) line("  " + s.notes[i]);
        if (s.notes.size() > 10) line(fmt::format("  ... and {} more", s.notes.size() - 10));
    }
    return out;
}

nlohmann::json json(const Status& s) {
    auto drops = nlohmann::json::object();
    for (const auto& c : s.drops) drops[reason_of(c.name)] = {{"counter", c.name}, {"packets", c.packets}, {"bytes", c.bytes}};
    auto sets = nlohmann::json::object();
    for (const auto& st : s.sets) {
        nlohmann::json j{{"elements", st.elements}, {"dynamic", st.dynamic}, {"interval", st.interval}};
        if (st.dynamic) j["capacity"] = st.capacity;
        sets[st.name] = j;
    }
    auto opt_time = [](int64_t t) { return t ? nlohmann::json(iso_of(t)) : nlohmann::json(nullptr); };
    return {{"table", s.table}, {"loaded", s.loaded}, {"in_sync", s.loaded && s.pending == 0},
            {"pending_changes", s.pending}, {"pending", s.pending_lines}, {"dropped", drops}, {"sets", sets},
            {"last_apply", opt_time(s.last_apply)}, {"policy", s.last_apply_policy},
            {"geoip", {{"database", s.geoip_database}, {"build", opt_time(s.geoip_build)},
                       {"refreshed", opt_time(s.geoip_refresh)}}},
            {"companies", {{"source", s.companies_source}, {"last_sync", opt_time(s.companies_sync)},
                           {"skipped", s.companies_skipped}}},
            {"platform", {{"source", s.platform_source}, {"last_sync", opt_time(s.platform_sync)},
                          {"application_servers", s.application_servers}, {"carriers", s.carriers},
                          {"skipped", s.platform_skipped}}},
            {"bad_rows", s.bad_rows}, {"platform_notes", s.notes},
            {"watch", {{"running", s.watch_up}, {"backing_off", backing_off(s)},
                       {"restores", s.watch.value("restores", 0)}, {"drifts", s.watch.value("drifts", 0)},
                       {"drift", s.watch.value("drift", "")}, {"last_drift", s.watch.value("last_drift", "")},
                       {"last_restore", s.watch.value("last_restore", "")},
                       {"last_drift_time", s.watch.value("last_drift_time", "")}}},
            {"other_tables", s.neighbours},
            {"warnings", s.warnings}, {"confirm", s.confirm}, {"exit", exit_code(s)}};
}

std::string label(const std::string& v) {
    std::string out;
    for (char ch : v) {
        if (ch == '\\' || ch == '"') out += '\\';
        if (ch == '\n') { out += "\\n"; continue; }
        out += ch;
    }
    return out;
}

// Prometheus text exposition format 0.0.4 (node_exporter's textfile collector).
std::string prometheus(const Status& s) {
    std::string out;
    auto head = [&](const char* name, const char* type, const char* help) {
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    };
    head("ivozfw_table_loaded", "gauge", "1 when ivozfw's nftables table is loaded.");
    out += fmt::format("ivozfw_table_loaded{{table=\"{}\"}} {}\n", label(s.table), s.loaded ? 1 : 0);
    head("ivozfw_pending_changes", "gauge", "Changes apply would make to bring the live table in line with the policy.");
    out += fmt::format("ivozfw_pending_changes{{table=\"{}\"}} {}\n", label(s.table), s.pending);
    head("ivozfw_dropped_packets_total", "counter", "Packets dropped, per reason.");
    for (const auto& c : s.drops)
        out += fmt::format("ivozfw_dropped_packets_total{{reason=\"{}\"}} {}\n", label(reason_of(c.name)), c.packets);
    head("ivozfw_dropped_bytes_total", "counter", "Bytes dropped, per reason.");
    for (const auto& c : s.drops)
        out += fmt::format("ivozfw_dropped_bytes_total{{reason=\"{}\"}} {}\n", label(reason_of(c.name)), c.bytes);
    head("ivozfw_set_elements", "gauge", "Elements in each set of the table (interval sets: ranges).");
    for (const auto& st : s.sets)
        out += fmt::format("ivozfw_set_elements{{set=\"{}\"}} {}\n", label(st.name), st.elements);
    head("ivozfw_set_capacity", "gauge", "Maximum elements of each dynamic set (meters, bans).");
    for (const auto& st : s.sets)
        if (st.dynamic && st.capacity)
            out += fmt::format("ivozfw_set_capacity{{set=\"{}\"}} {}\n", label(st.name), st.capacity);
    head("ivozfw_watch_up", "gauge", "1 when `ivozfw watch` runs (it restores the table when another tool changes it).");
    out += fmt::format("ivozfw_watch_up {}\n", s.watch_up ? 1 : 0);
    head("ivozfw_restores_total", "counter", "Times `ivozfw watch` restored the table after another tool changed it.");
    out += fmt::format("ivozfw_restores_total {}\n", s.watch.value("restores", 0));
    head("ivozfw_watch_drifts_total", "counter", "Changes to the table by other tools that `ivozfw watch` saw.");
    out += fmt::format("ivozfw_watch_drifts_total {}\n", s.watch.value("drifts", 0));
    head("ivozfw_watch_backing_off", "gauge", "1 while `ivozfw watch` has stopped restoring: the table keeps being changed.");
    out += fmt::format("ivozfw_watch_backing_off {}\n", backing_off(s) ? 1 : 0);
    head("ivozfw_last_apply_timestamp_seconds", "gauge", "When the policy was last applied (0: no record).");
    out += fmt::format("ivozfw_last_apply_timestamp_seconds {}\n", s.last_apply);
    head("ivozfw_geoip_build_timestamp_seconds", "gauge", "Build date of the GeoIP database loaded (0: none).");
    out += fmt::format("ivozfw_geoip_build_timestamp_seconds {}\n", s.geoip_build);
    head("ivozfw_geoip_refresh_timestamp_seconds", "gauge", "When the GeoIP sets were last loaded (0: never).");
    out += fmt::format("ivozfw_geoip_refresh_timestamp_seconds {}\n", s.geoip_refresh);
    head("ivozfw_companies_last_sync_timestamp_seconds", "gauge", "When the company ranges were last synced (0: never).");
    out += fmt::format("ivozfw_companies_last_sync_timestamp_seconds {}\n", s.companies_sync);
    head("ivozfw_platform_last_sync_timestamp_seconds", "gauge",
         "When the platform database's lists were last loaded (0: never).");
    out += fmt::format("ivozfw_platform_last_sync_timestamp_seconds {}\n", s.platform_sync);
    head("ivozfw_source_rows_skipped", "gauge", "Rows of the company source or platform database skipped as bad.");
    out += fmt::format("ivozfw_source_rows_skipped {}\n", s.companies_skipped + s.platform_skipped);
    return out;
}

}  // namespace

int cmd_status(const Options& o) {
    std::string format = o.format.empty() ? (o.json ? "json" : "text") : o.format;
    if (format != "text" && format != "json" && format != "prometheus")
        throw std::runtime_error("--format must be text, json or prometheus");
    auto s = collect(o);
    for (size_t i = s.printed; i < s.warnings.size(); ++i) std::cerr << "warning: " << s.warnings[i] << "\n";
    std::string out = format == "json" ? json(s).dump(2) + "\n" : format == "prometheus" ? prometheus(s) : text(s);
    if (o.output.empty()) std::cout << out;
    else io::write_atomic(o.output, out, 0644);   // node_exporter never reads half a file
    return exit_code(s);
}

}  // namespace ivozfw::cli
