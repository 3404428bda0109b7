// SPDX-License-Identifier: GPL-2.0-or-later
// The mnl socket: open, buffers, plain request/reply and dump loops, GETGEN.
#include <fmt/format.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "nft/internal.h"

namespace ivozfw::nft::detail {

namespace {
[[noreturn]] void sys_error(const std::string& what) {
    int e = errno;
    throw KernelError(e, fmt::format("{}: {}", what, strerror(e)));
}
}  // namespace

Socket::Socket() {
    nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);   // never inherited by an exec (the rollback watcher)
    if (!nl) sys_error("netlink socket");
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        int e = errno;
        mnl_socket_close(nl);
        errno = e;
        sys_error("netlink bind");
    }
    portid = mnl_socket_get_portid(nl);
    seq = static_cast<uint32_t>(time(nullptr));
    int one = 1;
    // Error acks echo only the header: acks of a huge batch stay small. Extack gives text.
    mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof one);
    mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof one);
}

Socket::~Socket() { mnl_socket_close(nl); }

void Socket::send(const void* buf, size_t len) {
    if (mnl_socket_sendto(nl, buf, len) < 0) sys_error("netlink send");
}

void Socket::set_buffers(size_t sndbuf, size_t rcvbuf) {
    int fd = mnl_socket_get_fd(nl);
    auto grow = [fd](int opt_force, int opt, size_t want) {
        int cur = 0;
        socklen_t l = sizeof cur;
        getsockopt(fd, SOL_SOCKET, opt, &cur, &l);
        if (static_cast<size_t>(cur) >= want) return;
        int v = want > INT32_MAX / 2 ? INT32_MAX / 2 : static_cast<int>(want);
        if (setsockopt(fd, SOL_SOCKET, opt_force, &v, sizeof v) < 0)
            setsockopt(fd, SOL_SOCKET, opt, &v, sizeof v);
    };
    grow(SO_SNDBUFFORCE, SO_SNDBUF, sndbuf);
    grow(SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf);
}

void Socket::request(nlmsghdr* nlh, const std::function<void(const nlmsghdr*)>& cb,
                     const std::string& what) {
    uint32_t want = nlh->nlmsg_seq;
    bool dump = nlh->nlmsg_flags & NLM_F_DUMP;
    send(nlh, nlh->nlmsg_len);
    bool interrupted = false;
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl, rxbuf.data(), rxbuf.size());
        if (n < 0) sys_error(what);
        int len = static_cast<int>(n);
        for (auto* m = reinterpret_cast<const nlmsghdr*>(rxbuf.data()); mnl_nlmsg_ok(m, len);
             m = mnl_nlmsg_next(m, &len)) {
            if (m->nlmsg_seq != want || m->nlmsg_pid != portid) continue;  // stale reply
            if (m->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
            if (m->nlmsg_type == NLMSG_DONE) {
                if (interrupted && !tolerate_interrupts) throw DumpInterrupted();
                dump_interrupted = dump_interrupted || interrupted;
                return;
            }
            if (m->nlmsg_type == NLMSG_ERROR) {
                auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m));
                if (err->error == 0) {
                    if (!dump) return;
                    continue;
                }
                if (err->error == -EINTR) throw DumpInterrupted();
                throw KernelError(-err->error, fmt::format("{}: {}", what, strerror(-err->error)));
            }
            if (m->nlmsg_type == NLMSG_NOOP || m->nlmsg_type == NLMSG_OVERRUN) continue;
            cb(m);
        }
    }
}

uint32_t Socket::genid() {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, next_seq());
    uint32_t id = 0;
    bool got = false;
    request(nlh,
            [&](const nlmsghdr* m) {
                auto g = must<GenPtr>(nftnl_gen_alloc());
                if (nftnl_gen_nlmsg_parse(m, g.get()) < 0) return;
                id = nftnl_gen_get_u32(g.get(), NFTNL_GEN_ID);
                got = true;
            },
            "get generation");
    if (!got) throw KernelError(EPROTO, "get generation: no reply");
    return id;
}

}  // namespace ivozfw::nft::detail

namespace ivozfw::nft {

Netlink::Netlink() : impl_(std::make_unique<Impl>()) {}
Netlink::~Netlink() = default;
uint32_t Netlink::genid() { return impl_->sock.genid(); }

}  // namespace ivozfw::nft
