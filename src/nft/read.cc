// SPDX-License-Identifier: GPL-2.0-or-later
// read_table: dumps of one inet table -> ruleset::Table, as one consistent snapshot
// (GETGEN before and after; retry when a commit happened in between).
#include <fmt/format.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <sys/socket.h>

#include <algorithm>
#include <tuple>
#include <cerrno>

#include "nft/element_cache.h"
#include "nft/internal.h"

namespace ivozfw::nft {

using namespace detail;

namespace {

// A few quick retries for a commit that lands during a short read; a ruleset that keeps
// changing is the caller's business (reconcile backs off until its deadline).
constexpr int kAttempts = 3;

std::string hook_name(uint32_t hooknum) {
    switch (hooknum) {
    case NF_INET_PRE_ROUTING: return "prerouting";
    case NF_INET_LOCAL_IN: return "input";
    case NF_INET_FORWARD: return "forward";
    case NF_INET_LOCAL_OUT: return "output";
    case NF_INET_POST_ROUTING: return "postrouting";
    }
    return fmt::format("hook{}", hooknum);
}

class Reader {
public:
    Reader(Socket& s, const std::string& name, ElementCache* cache)
        : s_(s), name_(name), cache_(cache) {}
    std::optional<Table> read();
    /// The table and only the named sets that exist (definitions and elements).
    std::optional<Table> read_sets(const std::set<std::string>& names);

private:
    void read_set(Table& t, const std::string& name);
    char* buf() { return tx_.data(); }
    bool read_table(Table& t);
    void read_chains(Table& t);
    void read_sets(Table& t);
    void read_elements(Set& set);
    std::vector<Element>* find_cached(const std::string& set) const {
        auto it = cache_->sets.find(set);
        return it == cache_->sets.end() ? nullptr : &it->second;
    }
    void read_counters(Table& t);
    void read_rules(Table& t);

    Socket& s_;
    const std::string& name_;
    ElementCache* cache_;   // already checked valid for this generation, or null; elements moved out
    std::vector<char> tx_ = std::vector<char>(MNL_SOCKET_BUFFER_SIZE);
};

bool Reader::read_table(Table& t) {
    auto tb = must<TablePtr>(nftnl_table_alloc());
    nftnl_table_set_str(tb.get(), NFTNL_TABLE_NAME, name_.c_str());
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf(), NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK,
                                          s_.next_seq());
    nftnl_table_nlmsg_build_payload(nlh, tb.get());
    try {
        s_.request(nlh, [&](const nlmsghdr* m) {
            auto r = must<TablePtr>(nftnl_table_alloc());
            if (nftnl_table_nlmsg_parse(m, r.get()) < 0) return;
            if (nftnl_table_is_set(r.get(), NFTNL_TABLE_USERDATA)) {
                uint32_t len = 0;
                const void* d = nftnl_table_get_data(r.get(), NFTNL_TABLE_USERDATA, &len);
                t.comment = udata_comment(d, len, NFTNL_UDATA_TABLE_COMMENT);
            }
        }, "table " + name_);
    } catch (const KernelError& e) {
        if (e.err == ENOENT) return false;
        throw;
    }
    t.name = name_;
    return true;
}

void Reader::read_chains(Table& t) {
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf(), NFT_MSG_GETCHAIN, NFPROTO_INET, NLM_F_DUMP,
                                          s_.next_seq());
    s_.request(nlh, [&](const nlmsghdr* m) {
        auto c = must<ChainPtr>(nftnl_chain_alloc());
        if (nftnl_chain_nlmsg_parse(m, c.get()) < 0) return;
        if (name_ != nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE)) return;
        Chain ch;
        ch.name = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME);
        if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_HOOKNUM)) {
            ch.hook = hook_name(nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_HOOKNUM));
            ch.priority = nftnl_chain_get_s32(c.get(), NFTNL_CHAIN_PRIO);
            if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_POLICY))
                ch.policy = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_POLICY) == NF_ACCEPT
                                ? Verdict::accept : Verdict::drop;
        }
        t.chains[ch.name] = std::move(ch);
    }, "list chains");
    for (const auto& [n, c] : t.chains)
        if (c.hook.empty()) t.chain_order.push_back(n);
    for (const auto& [n, c] : t.chains)
        if (!c.hook.empty()) t.chain_order.push_back(n);
}

void Reader::read_sets(Table& t) {
    auto req = must<SetPtr>(nftnl_set_alloc());
    nftnl_set_set_str(req.get(), NFTNL_SET_TABLE, name_.c_str());
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf(), NFT_MSG_GETSET, NFPROTO_INET, NLM_F_DUMP,
                                          s_.next_seq());
    nftnl_set_nlmsg_build_payload(nlh, req.get());
    s_.request(nlh, [&](const nlmsghdr* m) {
        auto s = must<SetPtr>(nftnl_set_alloc());
        if (nftnl_set_nlmsg_parse(m, s.get()) < 0) return;
        if (name_ != nftnl_set_get_str(s.get(), NFTNL_SET_TABLE)) return;
        if (nftnl_set_get_u32(s.get(), NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS) return;
        Set d = parse_set(s.get());
        if (d.key.empty()) return;  // a key type ivozfw does not model: not ours
        t.sets[d.name] = std::move(d);
    }, "list sets");
    for (auto& [n, s] : t.sets) {
        auto* cached = cache_ && !s.dynamic ? find_cached(n) : nullptr;
        if (cached) s.elements = std::move(*cached);
        else read_elements(s);
    }
}

void Reader::read_set(Table& t, const std::string& name) {
    auto req = set_handle(name_, name);
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf(), NFT_MSG_GETSET, NFPROTO_INET, NLM_F_ACK, s_.next_seq());
    nftnl_set_nlmsg_build_payload(nlh, req.get());
    std::optional<Set> d;
    try {
        s_.request(nlh, [&](const nlmsghdr* m) {
            auto s = must<SetPtr>(nftnl_set_alloc());
            if (nftnl_set_nlmsg_parse(m, s.get()) < 0) return;
            d = parse_set(s.get());
        }, "set " + name);
    } catch (const KernelError& e) {
        if (e.err == ENOENT) return;   // not there: the plan adds it, or the caller says so
        throw;
    }
    if (!d || d->key.empty()) return;
    auto* cached = cache_ && !d->dynamic ? find_cached(name) : nullptr;
    if (cached) d->elements = std::move(*cached);
    else read_elements(*d);
    t.sets[name] = std::move(*d);
}

std::optional<Table> Reader::read_sets(const std::set<std::string>& names) {
    Table t;
    if (!read_table(t)) return std::nullopt;
    for (const auto& n : names) read_set(t, n);
    return t;
}

void Reader::read_elements(Set& set) {
    auto s = set_handle(name_, set.name);
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf(), NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP,
                                          s_.next_seq());
    nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
    // Each dump message is parsed into its own nftnl_set and converted at once: nftnl's
    // element objects (~300 bytes each) never pile up for a whole 10^5-element set.
    std::vector<WireElem> wire;
    s_.request(nlh,
               [&](const nlmsghdr* m) {
                   auto chunk = set_handle(name_, set.name);
                   nftnl_set_elems_nlmsg_parse(m, chunk.get());
                   read_from_nftnl(chunk.get(), wire);
               },
               "set " + set.name + ": list elements");
    set.elements = decode_elements(set, std::move(wire));
}

void Reader::read_counters(Table& t) {
    auto req = must<ObjPtr>(nftnl_obj_alloc());
    nftnl_obj_set_str(req.get(), NFTNL_OBJ_TABLE, name_.c_str());
    nftnl_obj_set_u32(req.get(), NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf(), NFT_MSG_GETOBJ, NFPROTO_INET, NLM_F_DUMP,
                                          s_.next_seq());
    nftnl_obj_nlmsg_build_payload(nlh, req.get());
    s_.request(nlh, [&](const nlmsghdr* m) {
        auto o = must<ObjPtr>(nftnl_obj_alloc());
        if (nftnl_obj_nlmsg_parse(m, o.get()) < 0) return;
        if (name_ != nftnl_obj_get_str(o.get(), NFTNL_OBJ_TABLE)) return;
        if (nftnl_obj_get_u32(o.get(), NFTNL_OBJ_TYPE) != NFT_OBJECT_COUNTER) return;
        Counter c;
        c.name = nftnl_obj_get_str(o.get(), NFTNL_OBJ_NAME);
        c.packets = nftnl_obj_get_u64(o.get(), NFTNL_OBJ_CTR_PKTS);
        c.bytes = nftnl_obj_get_u64(o.get(), NFTNL_OBJ_CTR_BYTES);
        if (nftnl_obj_is_set(o.get(), NFTNL_OBJ_USERDATA)) {
            uint32_t len = 0;
            const void* d = nftnl_obj_get_data(o.get(), NFTNL_OBJ_USERDATA, &len);
            c.comment = udata_comment(d, len, NFTNL_UDATA_OBJ_COMMENT);
        }
        t.counters[c.name] = std::move(c);
    }, "list counters");
}

// Attributes of a TLV blob, each as (type without flags, whole attribute bytes).
std::vector<std::pair<uint16_t, Bytes>> attrs(const Bytes& b) {
    std::vector<std::pair<uint16_t, Bytes>> out;
    for (size_t off = 0; off + 4 <= b.size();) {
        uint16_t len = uint16_t(b[off] | b[off + 1] << 8), type = uint16_t(b[off + 2] | b[off + 3] << 8);
        if (len < 4 || off + len > b.size()) break;
        out.emplace_back(type & NLA_TYPE_MASK, Bytes(b.begin() + off, b.begin() + off + len));
        off += (len + 3) & ~3u;
    }
    return out;
}

Bytes join(const Bytes& head, const std::vector<std::pair<uint16_t, Bytes>>& kids) {
    Bytes out = head;
    for (const auto& [t, a] : kids) {
        out.insert(out.end(), a.begin(), a.end());
        out.resize((out.size() + 3) & ~size_t(3), 0);
    }
    uint16_t len = uint16_t(out.size());
    out[0] = uint8_t(len), out[1] = uint8_t(len >> 8);
    return out;
}

// The kernel dumps a dynset's NFTA_DYNSET_TIMEOUT even when it is 0, but refuses that very
// attribute on a set without timeouts (EOPNOTSUPP: the ct count meters). Leave it out so the
// dumped expressions can be sent back as they are.
Bytes restorable(const Bytes& exprs) {
    std::vector<std::pair<uint16_t, Bytes>> elems;
    for (auto [type, elem] : attrs(exprs)) {
        Bytes body(elem.begin() + 4, elem.end());
        auto parts = attrs(body);
        bool dynset = false;
        for (const auto& [t, a] : parts)
            if (t == NFTA_EXPR_NAME && std::string(reinterpret_cast<const char*>(a.data() + 4)) == "dynset") dynset = true;
        if (dynset)
            for (auto& [t, a] : parts) {
                if (t != NFTA_EXPR_DATA) continue;
                auto data = attrs(Bytes(a.begin() + 4, a.end()));
                std::erase_if(data, [](const auto& d) {
                    return d.first == NFTA_DYNSET_TIMEOUT && d.second.size() == 12 &&
                           std::all_of(d.second.begin() + 4, d.second.end(), [](uint8_t c) { return c == 0; });
                });
                a = join(Bytes(a.begin(), a.begin() + 4), data);
            }
        elems.emplace_back(type, join(Bytes(elem.begin(), elem.begin() + 4), parts));
    }
    Bytes out;
    for (const auto& [t, a] : elems) {
        out.insert(out.end(), a.begin(), a.end());
        out.resize((out.size() + 3) & ~size_t(3), 0);
    }
    return out;
}

// The raw NFTA_RULE_EXPRESSIONS payload, to put a rule back byte for byte.
Bytes rule_wire(const nlmsghdr* m) {
    const nlattr* tb[NFTA_RULE_MAX + 1] = {};
    mnl_attr_parse(m, sizeof(nfgenmsg), [](const nlattr* a, void* data) {
        auto** tb = static_cast<const nlattr**>(data);
        uint16_t type = mnl_attr_get_type(a);
        if (type <= NFTA_RULE_MAX) tb[type] = a;
        return MNL_CB_OK;
    }, tb);
    if (!tb[NFTA_RULE_EXPRESSIONS]) return {};
    auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(tb[NFTA_RULE_EXPRESSIONS]));
    return restorable(Bytes(p, p + mnl_attr_get_payload_len(tb[NFTA_RULE_EXPRESSIONS])));
}

void Reader::read_rules(Table& t) {
    auto req = must<RulePtr>(nftnl_rule_alloc());
    nftnl_rule_set_str(req.get(), NFTNL_RULE_TABLE, name_.c_str());
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf(), NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP,
                                          s_.next_seq());
    nftnl_rule_nlmsg_build_payload(nlh, req.get());
    s_.request(nlh, [&](const nlmsghdr* m) {
        auto r = must<RulePtr>(nftnl_rule_alloc());
        if (nftnl_rule_nlmsg_parse(m, r.get()) < 0) return;
        if (name_ != nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE)) return;
        auto it = t.chains.find(nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN));
        if (it == t.chains.end()) return;
        Rule rule;
        rule.handle = nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE);
        rule.comment = rule_comment_of(r.get());
        if (auto id = rule_id_from_comment(rule.comment)) rule.id = *id;
        rule.exprs = canonical_exprs(r.get());
        rule.wire = rule_wire(m);
        it->second.rules.push_back(std::move(rule));
    }, "list rules");
}

std::optional<Table> Reader::read() {
    Table t;
    if (!read_table(t)) return std::nullopt;
    read_chains(t);
    read_sets(t);
    read_counters(t);
    read_rules(t);
    return t;
}

}  // namespace

uint64_t Netlink::netns_cookie() {
    uint64_t cookie = 0;
    socklen_t len = sizeof cookie;
    if (getsockopt(mnl_socket_get_fd(impl_->sock.nl), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0) return 0;
    return cookie;
}

std::vector<BaseChain> Netlink::base_chains() {
    Socket& s = impl_->sock;
    std::vector<char> tx(MNL_SOCKET_BUFFER_SIZE);
    for (int attempt = 0;; ++attempt) {
        std::vector<BaseChain> out;
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(tx.data(), NFT_MSG_GETCHAIN, NFPROTO_UNSPEC, NLM_F_DUMP, s.next_seq());
        try {
            s.request(nlh, [&](const nlmsghdr* m) {
                auto c = must<ChainPtr>(nftnl_chain_alloc());
                if (nftnl_chain_nlmsg_parse(m, c.get()) < 0) return;
                if (!nftnl_chain_is_set(c.get(), NFTNL_CHAIN_TYPE) || !nftnl_chain_is_set(c.get(), NFTNL_CHAIN_HOOKNUM))
                    return;
                uint32_t f = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_FAMILY);
                if (f != NFPROTO_IPV4 && f != NFPROTO_IPV6 && f != NFPROTO_INET) return;
                BaseChain b;
                b.family = f == NFPROTO_IPV4 ? "ip" : f == NFPROTO_IPV6 ? "ip6" : "inet";
                b.table = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE);
                b.chain = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME);
                b.hook = hook_name(nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_HOOKNUM));
                b.type = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TYPE);
                if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_PRIO))
                    b.priority = int32_t(nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_PRIO));
                b.policy_drop = nftnl_chain_is_set(c.get(), NFTNL_CHAIN_POLICY) &&
                                nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_POLICY) == NF_DROP;
                out.push_back(std::move(b));
            }, "list chains");
        } catch (const DumpInterrupted&) {
            if (attempt + 1 < kAttempts) continue;
            throw KernelError(EINTR, "list chains: the ruleset kept changing during the dump");
        }
        std::sort(out.begin(), out.end(), [](const BaseChain& a, const BaseChain& b) {
            return std::tie(a.family, a.table, a.chain) < std::tie(b.family, b.table, b.chain);
        });
        return out;
    }
}

std::vector<std::string> Netlink::nat_chains() {
    std::vector<std::string> out;
    for (const auto& b : base_chains())
        if (b.type == "nat") out.push_back(fmt::format("{} {} {} ({})", b.family, b.table, b.chain, b.hook));
    std::sort(out.begin(), out.end());
    return out;
}

std::optional<Table> Netlink::read_table(const std::string& name, uint32_t* genid, ElementCache* cache) {
    return read_sets(name, nullptr, genid, cache);
}

std::optional<Table> Netlink::read_sets(const std::string& name, const std::set<std::string>& sets, uint32_t* genid,
                                        ElementCache* cache) {
    return read_sets(name, &sets, genid, cache);
}

std::optional<Table> Netlink::read_sets(const std::string& name, const std::set<std::string>* sets, uint32_t* genid,
                                        ElementCache* cache) {
    Socket& s = impl_->sock;
    uint64_t cookie = cache ? netns_cookie() : 0;
    // Following the table's commits (follow()), a read that other tables' commits interrupted
    // is still a snapshot of this table: kept, at the generation the check ends on.
    bool following = impl_->events != nullptr;
    struct Tolerate {   // never left on for another request, whatever is thrown
        Socket& s;
        ~Tolerate() { s.tolerate_interrupts = false; }
    } tolerate{s};
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
        uint32_t g0 = s.genid();
        std::optional<Table> t;
        s.tolerate_interrupts = following;
        s.dump_interrupted = false;
        ElementCache* valid = nullptr;
        try {
            // A cache of an older generation is still good when every commit since, as
            // followed, left the cached (non-dynamic) sets alone.
            bool valid_now = cache && cache->valid_for(name, g0, cookie);
            if (!valid_now && cache && following && cache->valid_for(name, cache->genid, cookie) &&
                int32_t(g0 - cache->genid) > 0 && untouched_since(cache->genid, impl_->read_ignore) == g0) {
                cache->genid = g0;
                valid_now = true;
            }
            valid = valid_now ? cache : nullptr;
            Reader r(s, name, valid);
            t = sets ? r.read_sets(*sets) : r.read();
        } catch (const DumpInterrupted&) {
            cache = nullptr;   // some elements may have been moved out of it: dump the next try
            continue;
        } catch (const KernelError& e) {
            // An object vanished under us (ENOENT): only a concurrent commit does that.
            if (s.genid() != g0) {
                cache = nullptr;
                continue;
            }
            throw;
        }
        uint32_t g1 = g0;
        if (s.genid() != g0 || s.dump_interrupted) {
            auto now = following ? untouched_since(g0, impl_->read_ignore) : std::nullopt;
            if (!now) {
                cache = nullptr;
                continue;
            }
            g1 = *now;
        }
        if (valid) valid->genid = g1;   // what it vouched for held to the end of the read
        if (genid) *genid = g1;
        return t;
    }
    throw GenerationChanged(EAGAIN, "table " + name + ": ruleset kept changing while reading it");
}

}  // namespace ivozfw::nft
