// SPDX-License-Identifier: GPL-2.0-or-later
// The physical floors the benchmarks compare against, for tests/bench (not installed): the
// least userspace work that leaves the same kernel state, or reads the same kernel state.
//   ivozfw-floor walk POLICY     the MaxMind tree walk alone (the policy's geoip section)
//   ivozfw-floor insert POLICY   the walk, then ONE batch: the table and the two interval
//                                sets with every merged interval, nothing read back, no
//                                rules, no plan against a live table, no cache, no lock
//                                Prints "walk_ms insert_ms intervals_v4 intervals_v6".
//   ivozfw-floor dump TABLE      one GETSETELEM dump of every set of inet TABLE, the replies
//                                received and dropped unparsed (what a diff with no cache
//                                cannot do with less). Prints "dump_ms sets bytes".
//   ivozfw-floor add|delete TABLE SET ADDRESS
//                                ONE batch adding or deleting one element, its ack awaited,
//                                then exit (the socket's release included, as for a ban)
#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "geoip/resolve.h"
#include "nft/internal.h"
#include "nft/netlink.h"
#include "plan/plan.h"
#include "policy/policy.h"
#include "ruleset/compile.h"
#include "ruleset/features.h"

using namespace ivozfw;
using nft::detail::Socket;
using Clock = std::chrono::steady_clock;

namespace {

double ms(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

int geoip_load(bool insert, const char* policy_path) {
    auto p = policy::load_file(policy_path);
    if (!p.geoip) throw std::runtime_error("the policy has no geoip section");
    auto t0 = Clock::now();
    auto g = geoip::resolve(*p.geoip);
    auto t1 = Clock::now();
    double insert_ms = 0;
    if (insert) {
        ruleset::Table t;
        t.name = p.table;
        for (bool v6 : {false, true})
            ruleset::put_set(t, ruleset::address_set(ruleset::names::list_set(ruleset::names::geoip, v6), v6,
                                                     v6 ? g.drop.v6 : g.drop.v4));
        auto pl = plan::plan(t, std::nullopt);
        nft::Netlink nl;
        nl.commit(pl, t, 0);
        insert_ms = ms(t1, Clock::now());
    }
    fmt::print("{:.1f} {:.1f} {} {}\n", ms(t0, t1), insert_ms, g.drop.v4.size(), g.drop.v6.size());
    return 0;
}

int dump(const std::string& table) {
    auto t0 = Clock::now();
    Socket s;
    std::vector<char> tx(MNL_SOCKET_BUFFER_SIZE);
    std::vector<std::string> names;
    auto req = nft::detail::set_handle(table, "");
    nftnl_set_unset(req.get(), NFTNL_SET_NAME);
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(tx.data(), NFT_MSG_GETSET, NFPROTO_INET, NLM_F_DUMP, s.next_seq());
    nftnl_set_nlmsg_build_payload(nlh, req.get());
    s.request(nlh, [&](const nlmsghdr* m) {
        auto set = nft::detail::must<nft::detail::SetPtr>(nftnl_set_alloc());
        if (nftnl_set_nlmsg_parse(m, set.get()) == 0) names.emplace_back(nftnl_set_get_str(set.get(), NFTNL_SET_NAME));
    }, "list sets");
    size_t bytes = 0;
    for (const auto& n : names) {
        auto h = nft::detail::set_handle(table, n);
        nlh = nftnl_nlmsg_build_hdr(tx.data(), NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP, s.next_seq());
        nftnl_set_elems_nlmsg_build_payload(nlh, h.get());
        s.request(nlh, [&](const nlmsghdr* m) { bytes += m->nlmsg_len; }, "set " + n + ": list elements");
    }
    fmt::print("{:.1f} {} {}\n", ms(t0, Clock::now()), names.size(), bytes);
    return 0;
}

int element(bool add, const std::string& table, const std::string& set, const std::string& addr) {
    unsigned char key[16];
    bool v6 = addr.find(':') != std::string::npos;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, addr.c_str(), key) != 1) throw std::runtime_error("bad address " + addr);
    auto h = nft::detail::set_handle(table, set);
    auto* e = nftnl_set_elem_alloc();
    if (!e) throw std::bad_alloc();
    nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, v6 ? 16 : 4);
    nftnl_set_elem_add(h.get(), e);

    Socket s;
    std::vector<char> tx(MNL_SOCKET_BUFFER_SIZE);
    auto* b = mnl_nlmsg_batch_start(tx.data(), tx.size());
    nftnl_batch_begin(static_cast<char*>(mnl_nlmsg_batch_current(b)), s.next_seq());
    mnl_nlmsg_batch_next(b);
    uint32_t seq = s.next_seq();
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(static_cast<char*>(mnl_nlmsg_batch_current(b)),
                                          add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, NFPROTO_INET,
                                          NLM_F_ACK | (add ? NLM_F_CREATE : 0), seq);
    nftnl_set_elems_nlmsg_build_payload(nlh, h.get());
    mnl_nlmsg_batch_next(b);
    nftnl_batch_end(static_cast<char*>(mnl_nlmsg_batch_current(b)), s.next_seq());
    mnl_nlmsg_batch_next(b);
    s.send(mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b));
    mnl_nlmsg_batch_stop(b);
    for (;;) {   // the element message's ack (NLM_F_ACK): the batch has committed
        ssize_t n = mnl_socket_recvfrom(s.nl, s.rxbuf.data(), s.rxbuf.size());
        if (n < 0) throw std::runtime_error("recv: " + std::string(strerror(errno)));
        int len = static_cast<int>(n);
        for (auto* m = reinterpret_cast<const nlmsghdr*>(s.rxbuf.data()); mnl_nlmsg_ok(m, len);
             m = mnl_nlmsg_next(m, &len)) {
            if (m->nlmsg_type != NLMSG_ERROR) continue;
            int err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m))->error;
            if (err) throw std::runtime_error(set + " " + addr + ": " + strerror(-err));   // any message
            if (m->nlmsg_seq == seq) return 0;
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> a(argv + 1, argv + argc);
    try {
        if (a.size() == 2 && (a[0] == "walk" || a[0] == "insert")) return geoip_load(a[0] == "insert", argv[2]);
        if (a.size() == 2 && a[0] == "dump") return dump(a[1]);
        if (a.size() == 4 && (a[0] == "add" || a[0] == "delete")) return element(a[0] == "add", a[1], a[2], a[3]);
    } catch (const std::exception& e) {
        std::cerr << "ivozfw-floor: " << e.what() << "\n";
        return 1;
    }
    std::cerr << "usage: ivozfw-floor walk|insert POLICY | dump TABLE | add|delete TABLE SET ADDRESS\n";
    return 2;
}
