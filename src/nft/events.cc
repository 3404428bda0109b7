// SPDX-License-Identifier: GPL-2.0-or-later
#include "nft/events.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "nft/netlink.h"

namespace ivozfw::nft {

namespace {

// Message types newer than Debian 12's headers (kernel 6.3+); the kernel notifies their
// changes as DEL*, but a future one might not.
constexpr uint16_t kDestroyFirst = 26, kDestroyLast = 32;

struct Attrs {
    std::optional<std::string> table, name;   // attribute 1 is the table for every object type
    std::optional<uint32_t> u32[4];
};

// Attribute 1 of every object message is its table (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE,
// NFTA_RULE_TABLE, NFTA_SET_TABLE, NFTA_SET_ELEM_LIST_TABLE, NFTA_OBJ_TABLE...).
Attrs parse(const nlmsghdr* m, uint16_t name_attr) {
    Attrs a;
    auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(m));
    for (auto* at = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(m, sizeof(nfgenmsg)));
         mnl_attr_ok(at, int(tail - reinterpret_cast<const char*>(at))); at = mnl_attr_next(at)) {
        uint16_t type = mnl_attr_get_type(at);
        if (type == 1 && mnl_attr_validate(at, MNL_TYPE_NUL_STRING) >= 0) a.table = mnl_attr_get_str(at);
        else if (type == name_attr && mnl_attr_validate(at, MNL_TYPE_NUL_STRING) >= 0) a.name = mnl_attr_get_str(at);
        if (type < 4 && mnl_attr_get_payload_len(at) == 4) a.u32[type] = ntohl(mnl_attr_get_u32(at));
    }
    return a;
}

}  // namespace

bool Generation::touches(const std::set<std::string>& ignore) const {
    if (structure || table_added || table_deleted) return true;
    for (const auto& s : element_sets)
        if (!ignore.count(s)) return true;
    return false;
}

std::string Generation::describe(const std::string& table) const {
    if (table_deleted && !table_added) return fmt::format("table inet {} deleted", table);
    if (table_deleted) return fmt::format("table inet {} deleted and created again", table);
    std::string out;
    size_t shown = 0;
    for (const auto& [w, n] : what) {
        if (++shown > 4) {
            out += fmt::format(" and {} more kinds of change", what.size() - 4);
            break;
        }
        if (!out.empty()) out += ", ";
        out += n > 1 ? fmt::format("{} (x{})", w, n) : w;
    }
    return fmt::format("table inet {} changed: {}", table, out.empty() ? "?" : out);
}

struct Events::Impl {
    std::string table;
    mnl_socket* nl = nullptr;
    Generation pending;   // objects of the generation whose NEWGEN has not come yet
    std::vector<char> buf = std::vector<char>(1 << 20);

    void object(uint16_t type, const nlmsghdr* m) {
        auto* g = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(m));
        if (type >= kDestroyFirst && type <= kDestroyLast) {
            static constexpr uint16_t as_del[] = {NFT_MSG_DELTABLE,   NFT_MSG_DELCHAIN, NFT_MSG_DELRULE,
                                                  NFT_MSG_DELSET,     NFT_MSG_DELSETELEM, NFT_MSG_DELOBJ,
                                                  NFT_MSG_DELFLOWTABLE};
            type = as_del[type - kDestroyFirst];
        }
        if (type > NFT_MSG_DELSETELEM && type != NFT_MSG_NEWOBJ && type != NFT_MSG_DELOBJ &&
            type != NFT_MSG_NEWFLOWTABLE && type != NFT_MSG_DELFLOWTABLE)
            return;   // GET*, TRACE, resets: no change
        uint16_t name_attr = type <= NFT_MSG_DELTABLE ? 1 : type <= NFT_MSG_DELCHAIN ? NFTA_CHAIN_NAME : 2;
        auto a = parse(m, name_attr);
        if (g->nfgen_family != NFPROTO_INET || a.table != table) return;
        bool add = type == NFT_MSG_NEWTABLE || type == NFT_MSG_NEWCHAIN || type == NFT_MSG_NEWRULE ||
                   type == NFT_MSG_NEWSET || type == NFT_MSG_NEWSETELEM || type == NFT_MSG_NEWOBJ ||
                   type == NFT_MSG_NEWFLOWTABLE;
        std::string verb = add ? "added" : "deleted";
        std::string n = a.name.value_or("?");
        switch (type) {
        case NFT_MSG_NEWTABLE: pending.table_added = true; pending.what["table added"]++; return;
        case NFT_MSG_DELTABLE: pending.table_deleted = true; pending.what["table deleted"]++; return;
        case NFT_MSG_NEWCHAIN: case NFT_MSG_DELCHAIN: pending.what["chain " + n + " " + verb]++; break;
        case NFT_MSG_NEWRULE: case NFT_MSG_DELRULE:
            pending.what[fmt::format("rule {} chain {}", add ? "added to" : "deleted from", n)]++;
            break;
        case NFT_MSG_NEWSET: case NFT_MSG_DELSET: pending.what["set " + n + " " + verb]++; break;
        case NFT_MSG_NEWSETELEM: case NFT_MSG_DELSETELEM:
            pending.element_sets.insert(n);
            pending.what[fmt::format("element {} set {}", add ? "added to" : "deleted from", n)]++;
            return;
        default: pending.what["object " + n + " " + verb]++; break;
        }
        pending.structure = true;
    }

    void message(const nlmsghdr* m, std::vector<Generation>& out) {
        if (NFNL_SUBSYS_ID(m->nlmsg_type) != NFNL_SUBSYS_NFTABLES) return;
        uint16_t type = NFNL_MSG_TYPE(m->nlmsg_type);
        if (type != NFT_MSG_NEWGEN) return object(type, m);
        auto a = parse(m, NFTA_GEN_PROC_NAME);
        pending.genid = a.u32[NFTA_GEN_ID].value_or(0);
        pending.pid = a.u32[NFTA_GEN_PROC_PID].value_or(0);
        pending.process = a.name.value_or("");
        out.push_back(std::move(pending));
        pending = Generation{};
    }
};

Events::Events(std::string table, int rcvbuf) : impl_(std::make_unique<Impl>()) {
    impl_->table = std::move(table);
    auto fail = [this](const char* what) {
        int e = errno;
        if (impl_->nl) mnl_socket_close(impl_->nl);
        throw KernelError(e, fmt::format("nftables events: {}: {}", what, strerror(e)));
    };
    impl_->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (!impl_->nl) fail("netlink socket");
    if (mnl_socket_bind(impl_->nl, 0, MNL_SOCKET_AUTOPID) < 0) fail("netlink bind");
    int group = NFNLGRP_NFTABLES;
    if (mnl_socket_setsockopt(impl_->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) fail("join group");
    int size = rcvbuf;   // memory only when used
    int fd = mnl_socket_get_fd(impl_->nl);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

Events::~Events() { mnl_socket_close(impl_->nl); }

int Events::fd() const { return mnl_socket_get_fd(impl_->nl); }

void Events::leave() {
    int group = NFNLGRP_NFTABLES;
    mnl_socket_setsockopt(impl_->nl, NETLINK_DROP_MEMBERSHIP, &group, sizeof group);
}

void Events::join() {
    int group = NFNLGRP_NFTABLES;
    if (mnl_socket_setsockopt(impl_->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0)
        throw KernelError(errno, fmt::format("nftables events: join group: {}", strerror(errno)));
}

bool Events::drain(std::vector<Generation>& out) {
    bool complete = true;
    for (;;) {
        ssize_t n = recv(fd(), impl_->buf.data(), impl_->buf.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return complete;
            if (errno == ENOBUFS) {   // events were dropped: whatever was pending is partial
                complete = false;
                impl_->pending = Generation{};
                continue;
            }
            throw KernelError(errno, fmt::format("nftables events: {}", strerror(errno)));
        }
        int len = int(n);
        for (auto* m = reinterpret_cast<const nlmsghdr*>(impl_->buf.data()); mnl_nlmsg_ok(m, len);
             m = mnl_nlmsg_next(m, &len))
            impl_->message(m, out);
    }
}

}  // namespace ivozfw::nft
