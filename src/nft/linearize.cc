// SPDX-License-Identifier: GPL-2.0-or-later
// Typed statements -> kernel expressions, the same sequence nft 1.0.6 generates for the
// equivalent text. Nothing implicit is added: typed rules carry their own dependencies.
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter/nf_tables.h>

#include <stdexcept>
#include <variant>

#include "nft/internal.h"

namespace ivozfw::nft::detail {

namespace {

struct SelInfo {
    enum Kind { meta, ct, payload, fib } kind;
    uint32_t key_or_base;  // meta/ct key, or payload base
    uint32_t offset;       // payload only
    uint32_t len;          // bytes loaded
    bool host_endian;      // nft byteorder of the selector (conversions for interval sets)
    bool original = false; // ct only: NFTA_CT_DIRECTION original (nft `ct original ...`)
};

SelInfo info(Selector s) {
    switch (s) {
    case Selector::meta_nfproto: return {SelInfo::meta, NFT_META_NFPROTO, 0, 1, true};
    case Selector::meta_l4proto: return {SelInfo::meta, NFT_META_L4PROTO, 0, 1, true};
    case Selector::meta_iif: return {SelInfo::meta, NFT_META_IIF, 0, 4, true};
    case Selector::meta_oif: return {SelInfo::meta, NFT_META_OIF, 0, 4, true};
    case Selector::ct_state: return {SelInfo::ct, NFT_CT_STATE, 0, 4, true};
    case Selector::ip_saddr: return {SelInfo::payload, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, false};
    case Selector::ip6_saddr: return {SelInfo::payload, NFT_PAYLOAD_NETWORK_HEADER, 8, 16, false};
    case Selector::th_dport: return {SelInfo::payload, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, false};
    case Selector::th_sport: return {SelInfo::payload, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, false};
    case Selector::icmp_type_code: return {SelInfo::payload, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, false};
    case Selector::icmp_type:
    case Selector::icmpv6_type: return {SelInfo::payload, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, false};
    case Selector::fib_daddr_type: return {SelInfo::fib, NFT_FIB_RESULT_ADDRTYPE, 0, 4, true};
    case Selector::ct_status: return {SelInfo::ct, NFT_CT_STATUS, 0, 4, true};
    case Selector::ct_orig_dport: return {SelInfo::ct, NFT_CT_PROTO_DST, 0, 2, false, true};
    }
    throw std::logic_error("unknown selector");
}

// nft counts registers in 32-bit units from NFT_REG_1 and writes 128-bit register numbers
// where they line up (netlink_put_register).
uint32_t reg_number(uint32_t unit) {
    return unit % 4 == 0 ? NFT_REG_1 + unit / 4 : NFT_REG32_00 + unit;
}

class Builder {
public:
    Builder(nftnl_rule* r, const Table& t) : r_(r), t_(t) {}

    void operator()(const Match& m);
    void operator()(const VmapLookup& v) { lookup(v.sel, v.set, true, false); }
    void operator()(const CounterRef& c);
    void operator()(const Limit& l);
    void operator()(const Log& l);
    void operator()(const Verdict& v);
    void operator()(const SetUpdate& u);
    void operator()(const Notrack&) { add("notrack"); }

private:
    nftnl_expr* add(const char* name) {
        auto e = must<ExprPtr>(nftnl_expr_alloc(name));
        nftnl_expr* p = e.get();
        nftnl_rule_add_expr(r_, e.release());
        return p;
    }
    void load(Selector s, uint32_t reg);
    void byteorder_hton(uint32_t reg, uint32_t len);
    void cmp(uint32_t op, const Bytes& v);
    void bitwise_and(uint32_t reg, const Bytes& mask);
    static nftnl_expr* limit_expr(const Limit& l);
    void lookup(const std::vector<Selector>& sel, const std::string& set, bool vmap, bool inv);
    bool interval_set(const std::string& name) const {
        auto it = t_.sets.find(name);
        return it != t_.sets.end() && it->second.interval;
    }

    nftnl_rule* r_;
    const Table& t_;
};

void Builder::load(Selector s, uint32_t reg) {
    SelInfo i = info(s);
    nftnl_expr* e;
    switch (i.kind) {
    case SelInfo::meta:
        e = add("meta");
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, i.key_or_base);
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, reg);
        break;
    case SelInfo::ct:
        e = add("ct");
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, i.key_or_base);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, reg);
        if (i.original) nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, IP_CT_DIR_ORIGINAL);
        break;
    case SelInfo::payload:
        e = add("payload");
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, reg);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, i.key_or_base);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, i.offset);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, i.len);
        break;
    case SelInfo::fib:
        e = add("fib");
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, i.key_or_base);
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, reg);
        break;
    }
}

// nft netlink_gen_unary: size 8/4/2 by the operand's bit length.
void Builder::byteorder_hton(uint32_t reg, uint32_t len) {
    uint32_t bits = len * 8;
    uint32_t size = bits % 64 == 0 ? 8 : bits % 32 == 0 ? 4 : 2;
    nftnl_expr* e = add("byteorder");
    nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, reg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, reg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, len);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, size);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
}

void Builder::cmp(uint32_t op, const Bytes& v) {
    nftnl_expr* e = add("cmp");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
    nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, v.data(), v.size());
}

// (reg & mask) ^ 0, as nft generates for `ct state x` and `ip6 saddr & mask`.
void Builder::bitwise_and(uint32_t reg, const Bytes& mask) {
    Bytes zero(mask.size(), 0);
    nftnl_expr* e = add("bitwise");
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, mask.size());
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask.data(), mask.size());
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero.data(), zero.size());
}

void Builder::operator()(const Match& m) {
    if (!m.prefix_mask.empty()) {
        // `sel & mask @set` / `sel & mask == value`: load, mask, then lookup or compare.
        if (m.sel.size() != 1) throw std::invalid_argument("a masked match takes one selector");
        if (m.prefix_mask.size() != info(m.sel[0]).len)
            throw std::invalid_argument("mask length differs from the selector's");
        load(m.sel[0], NFT_REG_1);
        bitwise_and(NFT_REG_1, m.prefix_mask);
        if (m.op == Match::in_set || m.op == Match::not_in_set) {
            nftnl_expr* e = add("lookup");
            nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
            nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, m.set.c_str());
            if (m.op == Match::not_in_set) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
            return;
        }
        if (m.op == Match::any_bit) throw std::invalid_argument("a masked match cannot test bits");
        return cmp(m.op == Match::eq ? NFT_CMP_EQ : NFT_CMP_NEQ, m.value);
    }
    if (m.op == Match::in_set || m.op == Match::not_in_set)
        return lookup(m.sel, m.set, false, m.op == Match::not_in_set);
    if (m.sel.size() != 1) throw std::invalid_argument("match on a concatenation needs a set");
    load(m.sel[0], NFT_REG_1);
    if (m.op == Match::any_bit) {
        // `ct state established,related`: (reg & mask) ^ 0, then != 0.
        bitwise_and(NFT_REG_1, m.value);
        return cmp(NFT_CMP_NEQ, Bytes(m.value.size(), 0));
    }
    cmp(m.op == Match::eq ? NFT_CMP_EQ : NFT_CMP_NEQ, m.value);
}

void Builder::lookup(const std::vector<Selector>& sel, const std::string& set, bool vmap,
                     bool inv) {
    // nft converts host-endian keys to big endian for interval (range) lookups: always
    // inside a concatenation, for a single key only when it is wider than a byte.
    bool convert = interval_set(set);
    uint32_t unit = 0;
    for (Selector s : sel) {
        SelInfo i = info(s);
        uint32_t reg = reg_number(unit);
        load(s, reg);
        if (convert && i.host_endian && (sel.size() > 1 || i.len >= 2)) byteorder_hton(reg, i.len);
        unit += (i.len + 3) / 4;
    }
    nftnl_expr* e = add("lookup");
    nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
    nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set.c_str());
    if (vmap) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
    if (inv) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
}

void Builder::operator()(const CounterRef& c) {
    nftnl_expr* e = add("objref");
    nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
    nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, c.name.c_str());
}

nftnl_expr* Builder::limit_expr(const Limit& l) {
    nftnl_expr* e = nftnl_expr_alloc("limit");
    if (!e) throw std::bad_alloc();
    nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_RATE, l.rate);
    nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_UNIT, l.unit_s);
    nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_BURST, l.burst);
    nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
    nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_FLAGS, l.over ? NFT_LIMIT_F_INV : 0);
    return e;
}

void Builder::operator()(const Limit& l) { nftnl_rule_add_expr(r_, limit_expr(l)); }

// nft netlink_gen_set_stmt: load the key (masked), then dynset with at most one embedded
// stateful expression. nft reloads the key for every set statement of a rule; so do we.
void Builder::operator()(const SetUpdate& u) {
    if (!u.prefix_mask.empty() && u.prefix_mask.size() != info(u.sel).len)
        throw std::invalid_argument("mask length differs from the selector's");
    if (u.limit && u.ct_count_over) throw std::invalid_argument("one embedded statement per set update");
    load(u.sel, NFT_REG_1);
    if (!u.prefix_mask.empty()) bitwise_and(NFT_REG_1, u.prefix_mask);
    nftnl_expr* e = add("dynset");
    nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, u.op == SetUpdate::update ? NFT_DYNSET_OP_UPDATE : NFT_DYNSET_OP_ADD);
    nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, u.set.c_str());
    nftnl_expr* inner = nullptr;
    if (u.limit) inner = limit_expr(*u.limit);
    if (u.ct_count_over) {
        inner = nftnl_expr_alloc("connlimit");
        if (!inner) throw std::bad_alloc();
        nftnl_expr_set_u32(inner, NFTNL_EXPR_CONNLIMIT_COUNT, *u.ct_count_over);
        nftnl_expr_set_u32(inner, NFTNL_EXPR_CONNLIMIT_FLAGS, NFT_CONNLIMIT_F_INV);
    }
    if (inner) nftnl_expr_set(e, NFTNL_EXPR_DYNSET_EXPR, inner, 0);  // takes ownership
}

void Builder::operator()(const Log& l) {
    nftnl_expr* e = add("log");
    if (!l.prefix.empty()) nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, l.prefix.c_str());
}

void Builder::operator()(const Verdict& v) {
    static constexpr int32_t codes[] = {NF_ACCEPT, NF_DROP, NFT_JUMP, NFT_GOTO};
    nftnl_expr* e = add("immediate");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(codes[v.kind]));
    if (v.kind == Verdict::jump || v.kind == Verdict::goto_)
        nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, v.chain.c_str());
}

}  // namespace

void linearize(nftnl_rule* r, const Rule& rule, const Table& t) {
    Builder b(r, t);
    for (const auto& s : rule.stmts) std::visit(b, s);
}

}  // namespace ivozfw::nft::detail
