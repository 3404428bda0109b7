// SPDX-License-Identifier: GPL-2.0-or-later
// Reading the acks of a batch and naming each kernel error after the object it concerns.
#include <fmt/format.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cerrno>
#include <cstring>

#include "nft/internal.h"
#include "ruleset/values.h"

namespace ivozfw::nft::detail {

namespace {

AckError parse_error(const nlmsghdr* m) {
    auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m));
    AckError a{m->nlmsg_seq, -e->error, {}, {}};
    if (!(m->nlmsg_flags & NLM_F_ACK_TLVS)) return a;
    size_t hlen = sizeof(nlmsgerr);
    if (!(m->nlmsg_flags & NLM_F_CAPPED)) hlen += e->msg.nlmsg_len - sizeof(nlmsghdr);
    size_t plen = mnl_nlmsg_get_payload_len(m);
    if (hlen >= plen) return a;
    const nlattr* tb[NLMSGERR_ATTR_MAX + 1] = {};
    mnl_attr_parse_payload(static_cast<const char*>(mnl_nlmsg_get_payload(m)) + hlen, plen - hlen,
                           [](const nlattr* at, void* data) {
                               auto** tb = static_cast<const nlattr**>(data);
                               if (mnl_attr_get_type(at) <= NLMSGERR_ATTR_MAX)
                                   tb[mnl_attr_get_type(at)] = at;
                               return MNL_CB_OK;
                           },
                           tb);
    if (tb[NLMSGERR_ATTR_MSG]) a.extack = mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]);
    if (tb[NLMSGERR_ATTR_OFFS]) a.offs = mnl_attr_get_u32(tb[NLMSGERR_ATTR_OFFS]);
    return a;
}

// Index of the element nest at byte offset `offs` of a NEWSETELEM/DELSETELEM message.
std::optional<size_t> element_at(const nlmsghdr* msg, uint32_t offs) {
    auto* base = static_cast<const char*>(mnl_nlmsg_get_payload_offset(msg, sizeof(nfgenmsg)));
    auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(msg));
    for (auto* a = reinterpret_cast<const nlattr*>(base); mnl_attr_ok(a, tail - reinterpret_cast<const char*>(a));
         a = mnl_attr_next(a)) {
        if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS) continue;
        size_t k = 0;
        auto* nest_end = reinterpret_cast<const char*>(a) + mnl_attr_get_len(a);
        for (auto* e = static_cast<const nlattr*>(mnl_attr_get_payload(a));
             mnl_attr_ok(e, nest_end - reinterpret_cast<const char*>(e)); e = mnl_attr_next(e)) {
            auto start = reinterpret_cast<const char*>(e) - reinterpret_cast<const char*>(msg);
            auto end = start + mnl_attr_get_len(e);
            if (offs >= start && offs < end) return k;
            ++k;
        }
    }
    return std::nullopt;
}

}  // namespace

std::vector<AckError> read_acks(Socket& s, uint32_t sentinel_seq, size_t* acked) {
    std::vector<AckError> errors;
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(s.nl, s.rxbuf.data(), s.rxbuf.size());
        if (n < 0) {
            int e = errno;
            // The batch was sent: whether it committed is not known from here.
            if (e == ENOBUFS)
                throw KernelError(e, "batch: acks were lost (receive buffer overrun)", Changed::unknown);
            throw KernelError(e, fmt::format("batch: receiving acks: {}", strerror(e)), Changed::unknown);
        }
        int len = static_cast<int>(n);
        for (auto* m = reinterpret_cast<const nlmsghdr*>(s.rxbuf.data()); mnl_nlmsg_ok(m, len);
             m = mnl_nlmsg_next(m, &len)) {
            if (m->nlmsg_seq == sentinel_seq) {
                if (m->nlmsg_type == NLMSG_ERROR) return errors;  // GETGEN's own ack: done
                continue;
            }
            if (m->nlmsg_type != NLMSG_ERROR) continue;
            AckError a = parse_error(m);
            ++*acked;
            if (a.err != 0) errors.push_back(std::move(a));
        }
    }
}

std::string name_error(const AckError& e, const MsgInfo* info, const nlmsghdr* msg) {
    std::string what = info ? info->what : "batch";
    if (info && info->set && info->els && msg && e.offs) {
        if (auto k = element_at(msg, *e.offs); k && *k < info->owner.size())
            what = fmt::format("set {}: element {}", info->set->name,
                               ruleset::format_element(*info->set, (*info->els)[info->owner[*k]]));
    }
    std::string s = fmt::format("{}: {}", what, strerror(e.err));
    if (!e.extack.empty()) s += " (" + e.extack + ")";
    return s;
}

}  // namespace ivozfw::nft::detail
