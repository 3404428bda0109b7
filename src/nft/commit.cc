// SPDX-License-Identifier: GPL-2.0-or-later
// commit: a Plan -> ONE nfnetlink batch (guarded by the generation id), every message
// acked and named, so a kernel error says which object it came from.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

#include "nft/internal.h"
#include "ruleset/values.h"

namespace ivozfw::nft {

using namespace detail;
using plan::Op;

namespace {

constexpr size_t kBatchPage = 2 * 1024 * 1024;  // as nft: BATCH_PAGE_SIZE
// A page's overrun: the largest message, which may start anywhere below kBatchPage.
const size_t kMaxMsg = UINT16_MAX + getpagesize();
constexpr size_t kElemBudget = 60000;           // element list nest must stay < 64 KiB

uint32_t hook_number(const std::string& h) {
    if (h == "prerouting") return NF_INET_PRE_ROUTING;
    if (h == "input") return NF_INET_LOCAL_IN;
    if (h == "forward") return NF_INET_FORWARD;
    if (h == "output") return NF_INET_LOCAL_OUT;
    if (h == "postrouting") return NF_INET_POST_ROUTING;
    throw std::invalid_argument("unknown hook " + h);
}

size_t pad4(size_t n) { return (n + 3) & ~size_t(3); }

// Upper bound of the netlink size of one element nest.
size_t wire_size(const WireElem& w) {
    size_t n = 4 + 8 + pad4(w.key.size());
    if (!w.key_end.empty()) n += 8 + pad4(w.key_end.size());
    if (w.interval_end) n += 8;
    if (w.open_end) n += 4 + 8;
    const auto& x = w.x();
    if (x.verdict) n += 4 + 4 + 8 + 4 + pad4(x.verdict->chain.size() + 1);
    if (x.timeout_ms) n += 4 + 8;
    if (!x.comment.empty()) n += 4 + pad4(x.comment.size() + 3);
    return n;
}

std::string rule_label(const Rule& r) {
    if (!r.id.empty()) return rule_comment(r.id);
    if (r.handle) return fmt::format("handle {}", r.handle);
    return r.comment.empty() ? "(no id)" : r.comment;
}

class Batch {
public:
    Batch(Socket& s, const plan::Plan& p, const Table& d) : s_(s), plan_(p), desired_(d) {
        b_.reset(nftnl_batch_alloc(kBatchPage, kMaxMsg));
        if (!b_) throw std::bad_alloc();
    }
    void build(uint32_t genid, bool check_only);
    CommitStats send_and_check();

private:
    nlmsghdr* msg(uint16_t type, uint16_t flags, MsgInfo info) {
        uint32_t seq = s_.next_seq();
        info_[seq] = std::move(info);
        ++stats_.messages;
        return nftnl_nlmsg_build_hdr(at(), type, NFPROTO_INET, flags | NLM_F_ACK, seq);
    }
    /// Where the next message goes, its bytes zeroed: libmnl 1.0.4 does not write attribute
    /// padding, and libnftnl's pages come from malloc, so stale heap bytes went to the kernel
    /// (valgrind). Zeroed ahead by the largest message a page takes, once per byte.
    char* at() {
        auto* p = static_cast<char*>(nftnl_batch_buffer(b_.get()));
        auto u = reinterpret_cast<uintptr_t>(p);   // compared as numbers: pages are separate blocks
        if (u < zeroed_from_ || u > zeroed_to_) zeroed_from_ = zeroed_to_ = u;  // a new page
        if (u + kMaxMsg > zeroed_to_) {
            std::memset(reinterpret_cast<char*>(zeroed_to_), 0, u + kMaxMsg - zeroed_to_);
            zeroed_to_ = u + kMaxMsg;
        }
        return p;
    }
    void next() {
        if (nftnl_batch_update(b_.get()) < 0) throw std::bad_alloc();
    }
    void op(const Op& o);
    void table(bool add);
    void counter(const Op& o, bool add);
    void set(const Op& o, bool add);
    void elements(const std::string& name, const std::vector<Element>& els, bool add);
    void element_chunk(const Set& def, const std::vector<Element>& els,
                       const std::vector<WireElem>& wire, std::vector<uint32_t> owner,
                       bool add);
    void chain(const Op& o, bool add);
    void rule(const Op& o);
    void delete_rule(const Op& o);
    const Set& set_def(const std::string& name) const {
        auto it = desired_.sets.find(name);
        if (it == desired_.sets.end())
            throw std::invalid_argument("set " + name + " is not in the desired table");
        return it->second;
    }
    const nlmsghdr* find_msg(uint32_t seq) const;

    Socket& s_;
    const plan::Plan& plan_;
    const Table& desired_;
    BatchPtr b_;
    uintptr_t zeroed_from_ = 0;  // [zeroed_from_, zeroed_to_): zeroed bytes of this page
    uintptr_t zeroed_to_ = 0;
    std::map<uint32_t, MsgInfo> info_;
    uint32_t begin_seq_ = 0;
    uint32_t set_id_ = 0;
    CommitStats stats_;
};

void Batch::build(uint32_t genid, bool check_only) {
    begin_seq_ = s_.next_seq();
    nlmsghdr* begin = nftnl_batch_begin(at(), begin_seq_);
    if (genid) mnl_attr_put_u32(begin, NFNL_BATCH_GENID, htonl(genid));
    next();
    for (const auto& o : plan_.ops) op(o);
    if (!check_only) {  // no END: the kernel validates everything, then aborts
        nftnl_batch_end(at(), s_.next_seq());
        next();
    }
}

void Batch::op(const Op& o) {
    switch (o.verb) {
    case Op::add_table: return table(true);
    case Op::delete_table: return table(false);
    case Op::add_counter: return counter(o, true);
    case Op::delete_counter: return counter(o, false);
    case Op::add_set: return set(o, true);
    case Op::delete_set: return set(o, false);
    case Op::add_elements: return elements(o.name, o.elements, true);
    case Op::delete_elements: return elements(o.name, o.elements, false);
    case Op::add_chain: return chain(o, true);
    case Op::delete_chain: return chain(o, false);
    case Op::add_rule:
    case Op::replace_rule: return rule(o);
    case Op::delete_rule: return delete_rule(o);
    }
}

void Batch::table(bool add) {
    auto t = must<TablePtr>(nftnl_table_alloc());
    nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NFPROTO_INET);
    nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, plan_.table.c_str());
    // No NFTNL_TABLE_FLAGS: NEWTABLE on an existing table is then a no-op.
    if (add && !desired_.comment.empty()) {
        auto ud = must<UdataPtr>(nftnl_udata_buf_alloc(256));
        nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_TABLE_COMMENT, desired_.comment.c_str());
        nftnl_table_set_data(t.get(), NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(ud.get()),
                             nftnl_udata_buf_len(ud.get()));
    }
    nlmsghdr* nlh = msg(add ? NFT_MSG_NEWTABLE : NFT_MSG_DELTABLE, add ? NLM_F_CREATE : 0,
                        {fmt::format("table inet {}: {}", plan_.table, add ? "add" : "delete")});
    nftnl_table_nlmsg_build_payload(nlh, t.get());
    next();
}

void Batch::counter(const Op& o, bool add) {
    auto obj = must<ObjPtr>(nftnl_obj_alloc());
    nftnl_obj_set_u32(obj.get(), NFTNL_OBJ_FAMILY, NFPROTO_INET);
    nftnl_obj_set_str(obj.get(), NFTNL_OBJ_TABLE, plan_.table.c_str());
    nftnl_obj_set_str(obj.get(), NFTNL_OBJ_NAME, o.name.c_str());
    nftnl_obj_set_u32(obj.get(), NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
    auto it = desired_.counters.find(o.name);
    if (add && it != desired_.counters.end() && !it->second.comment.empty()) {
        auto ud = must<UdataPtr>(nftnl_udata_buf_alloc(256));
        nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_OBJ_COMMENT, it->second.comment.c_str());
        nftnl_obj_set_data(obj.get(), NFTNL_OBJ_USERDATA, nftnl_udata_buf_data(ud.get()),
                           nftnl_udata_buf_len(ud.get()));
    }
    nlmsghdr* nlh = msg(add ? NFT_MSG_NEWOBJ : NFT_MSG_DELOBJ, add ? NLM_F_CREATE : 0,
                        {fmt::format("counter {}: {}", o.name, add ? "add" : "delete")});
    nftnl_obj_nlmsg_build_payload(nlh, obj.get());
    next();
}

void Batch::set(const Op& o, bool add) {
    if (!add) {
        auto s = set_handle(plan_.table, o.name);
        nlmsghdr* nlh = msg(NFT_MSG_DELSET, 0, {fmt::format("set {}: delete", o.name)});
        nftnl_set_nlmsg_build_payload(nlh, s.get());
        return next();
    }
    const Set& def = set_def(o.name);
    auto s = build_set(def, plan_.table, ++set_id_);
    nlmsghdr* nlh = msg(NFT_MSG_NEWSET, NLM_F_CREATE, {fmt::format("set {}: add", o.name)});
    nftnl_set_nlmsg_build_payload(nlh, s.get());
    next();
    // The elements ride along unless the plan sends them itself (never for dynamic sets).
    bool separate = std::any_of(plan_.ops.begin(), plan_.ops.end(), [&](const Op& x) {
        return x.verb == Op::add_elements && x.name == o.name;
    });
    if (!separate && !def.dynamic && !def.elements.empty()) elements(o.name, def.elements, true);
}

void Batch::elements(const std::string& name, const std::vector<Element>& els, bool add) {
    const Set& def = set_def(name);
    std::vector<WireElem> wire;
    std::vector<uint32_t> owner;
    size_t bytes = 0;
    std::vector<WireElem> w;
    for (size_t i = 0; i < els.size(); ++i) {
        w.clear();
        encode_element(def, els[i], w);   // no copy of the element, one vector for all
        size_t sz = 0;
        for (const auto& x : w) sz += wire_size(x);
        if (!wire.empty() && bytes + sz > kElemBudget) {
            element_chunk(def, els, wire, std::move(owner), add);
            wire.clear();
            owner.clear();
            bytes = 0;
        }
        for (auto& x : w) {
            wire.push_back(std::move(x));
            owner.push_back(static_cast<uint32_t>(i));
        }
        bytes += sz;
    }
    if (!wire.empty()) element_chunk(def, els, wire, std::move(owner), add);
    stats_.elements += els.size();
}

void Batch::element_chunk(const Set& def, const std::vector<Element>& els,
                          const std::vector<WireElem>& wire, std::vector<uint32_t> owner,
                          bool add) {
    auto s = set_handle(plan_.table, def.name);
    add_to_nftnl(s.get(), wire, add);
    size_t first = owner.front(), count = owner.back() - first + 1;
    MsgInfo info;
    info.what = fmt::format("set {}: {} {} element{} (first {})", def.name,
                            add ? "add" : "delete", count, count == 1 ? "" : "s",
                            ruleset::format_element(def, els[first]));
    info.set = &def;
    info.els = &els;
    info.owner = std::move(owner);
    nlmsghdr* nlh = msg(add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, add ? NLM_F_CREATE : 0,
                        std::move(info));
    nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
    next();
}

void Batch::chain(const Op& o, bool add) {
    auto c = must<ChainPtr>(nftnl_chain_alloc());
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_INET);
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, plan_.table.c_str());
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, o.name.c_str());
    if (add) {
        auto it = desired_.chains.find(o.name);
        if (it == desired_.chains.end())
            throw std::invalid_argument("chain " + o.name + " is not in the desired table");
        const Chain& ch = it->second;
        if (!ch.hook.empty()) {
            nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, hook_number(ch.hook));
            nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, ch.priority);
            nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, "filter");
            if (ch.policy)
                nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY,
                                    *ch.policy == Verdict::accept ? NF_ACCEPT : NF_DROP);
        }
    }
    nlmsghdr* nlh = msg(add ? NFT_MSG_NEWCHAIN : NFT_MSG_DELCHAIN, add ? NLM_F_CREATE : 0,
                        {fmt::format("chain {}: {}", o.name, add ? "add" : "delete")});
    nftnl_chain_nlmsg_build_payload(nlh, c.get());
    next();
}

void Batch::rule(const Op& o) {
    const Rule& rule = o.rule;
    bool replace = o.verb == Op::replace_rule;
    auto r = must<RulePtr>(nftnl_rule_alloc());
    nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
    nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, plan_.table.c_str());
    nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, o.name.c_str());
    uint16_t flags = NLM_F_CREATE | NLM_F_APPEND;
    if (replace) {
        nftnl_rule_set_u64(r.get(), NFTNL_RULE_HANDLE, rule.handle);
        flags = NLM_F_REPLACE;
    } else if (o.before_handle) {
        nftnl_rule_set_u64(r.get(), NFTNL_RULE_POSITION, o.before_handle);
        flags = NLM_F_CREATE;  // without APPEND: insert before POSITION
    }
    if (!rule.id.empty())
        set_rule_comment(r.get(), rule_comment(rule.id));
    else if (!rule.comment.empty())
        set_rule_comment(r.get(), rule.comment);
    bool raw = rule.stmts.empty() && !rule.wire.empty();
    if (!raw) linearize(r.get(), rule, desired_);
    nlmsghdr* nlh = msg(NFT_MSG_NEWRULE, flags,
                        {fmt::format("chain {}: {} rule {}", o.name, replace ? "replace" : "add",
                                     rule_label(rule))});
    nftnl_rule_nlmsg_build_payload(nlh, r.get());
    // A rule nobody can recompile (hand edit) goes back byte for byte.
    if (raw)
        mnl_attr_put(nlh, NLA_F_NESTED | NFTA_RULE_EXPRESSIONS, rule.wire.size(), rule.wire.data());
    next();
}

void Batch::delete_rule(const Op& o) {
    auto r = must<RulePtr>(nftnl_rule_alloc());
    nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
    nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, plan_.table.c_str());
    nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, o.name.c_str());
    nftnl_rule_set_u64(r.get(), NFTNL_RULE_HANDLE, o.rule.handle);
    nlmsghdr* nlh = msg(NFT_MSG_DELRULE, 0,
                        {fmt::format("chain {}: delete rule {}", o.name, rule_label(o.rule))});
    nftnl_rule_nlmsg_build_payload(nlh, r.get());
    next();
}

// Messages may have moved between pages while building: look them up in the final iovec.
const nlmsghdr* Batch::find_msg(uint32_t seq) const {
    int n = nftnl_batch_iovec_len(b_.get());
    std::vector<iovec> iov(n);
    nftnl_batch_iovec(b_.get(), iov.data(), n);
    for (const auto& v : iov) {
        int len = static_cast<int>(v.iov_len);
        for (auto* m = static_cast<const nlmsghdr*>(v.iov_base); mnl_nlmsg_ok(m, len);
             m = mnl_nlmsg_next(m, &len))
            if (m->nlmsg_seq == seq) return m;
    }
    return nullptr;
}

CommitStats Batch::send_and_check() {
    int n = nftnl_batch_iovec_len(b_.get());
    std::vector<iovec> iov(n);
    nftnl_batch_iovec(b_.get(), iov.data(), n);
    for (const auto& v : iov) stats_.bytes += v.iov_len;
    // The whole batch is one datagram; each ack costs about 1 KiB of receive buffer.
    s_.set_buffers(stats_.bytes + (1 << 16), stats_.messages * 1024 + (1 << 20));

    sockaddr_nl snl{};
    snl.nl_family = AF_NETLINK;
    msghdr mh{};
    mh.msg_name = &snl;
    mh.msg_namelen = sizeof snl;
    mh.msg_iov = iov.data();
    mh.msg_iovlen = iov.size();
    if (sendmsg(mnl_socket_get_fd(s_.nl), &mh, 0) < 0) {
        int e = errno;
        throw KernelError(e, fmt::format("batch of {} bytes: {}", stats_.bytes, strerror(e)));
    }
    // End marker: the kernel queued every batch ack before it reads this GETGEN.
    char buf[256];
    uint32_t sentinel = s_.next_seq();
    nlmsghdr* g = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, sentinel);
    try {
        s_.send(g, g->nlmsg_len);
    } catch (const KernelError& e) {
        // The batch is in the kernel's hands already: whether it committed is not known.
        throw KernelError(e.err, std::string("batch sent, then: ") + e.what(), Changed::unknown);
    }
    size_t acked = 0;
    auto errors = read_acks(s_, sentinel, &acked);
    if (errors.empty()) {
        if (acked < stats_.messages)
            throw KernelError(EPROTO, fmt::format("batch: only {} of {} messages acked",
                                                  acked, stats_.messages), Changed::unknown);
        return stats_;
    }
    const AckError& first = errors.front();
    if (first.seq == begin_seq_ && first.err == ERESTART)
        throw GenerationChanged(ERESTART, "ruleset generation changed since it was read");
    std::string what;
    for (size_t i = 0; i < errors.size() && i < 5; ++i) {
        auto it = info_.find(errors[i].seq);
        if (i) what += "; ";
        what += name_error(errors[i], it == info_.end() ? nullptr : &it->second,
                           find_msg(errors[i].seq));
    }
    if (errors.size() > 5) what += fmt::format("; and {} more errors", errors.size() - 5);
    throw KernelError(first.err, what);
}

}  // namespace

CommitStats Netlink::commit(const plan::Plan& plan, const Table& desired, uint32_t genid,
                            bool check_only) {
    Batch b(impl_->sock, plan, desired);
    b.build(genid, check_only);
    // Any socket in the nftables group makes the kernel build a notification for every
    // element a batch commits: several times the cost of a big batch. Our own follower
    // (follow()) leaves the group while a big one is sent; what happened meanwhile is then
    // unknown to it, and untouched_since says so.
    constexpr size_t kQuietAbove = 1000;
    auto& i = *impl_;
    if (!i.events || plan.element_count() <= kQuietAbove) return b.send_and_check();
    i.events->leave();
    struct Rejoin {
        Impl& i;
        ~Rejoin() {
            try {
                i.events->join();
                i.lost_upto = i.sock.genid();
            } catch (const std::exception&) {
                i.events.reset();   // not following any more: every generation change counts
            }
        }
    } rejoin{i};
    return b.send_and_check();
}

}  // namespace ivozfw::nft
