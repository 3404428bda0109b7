// SPDX-License-Identifier: GPL-2.0-or-later
// Canonical text of a rule's expressions (what plan compares), rule comments, annotate().
#include <cstring>

#include "nft/internal.h"

namespace ivozfw::nft {

namespace {
constexpr uint32_t kUserdataMax = 256;  // NFT_USERDATA_MAXLEN
}  // namespace

namespace detail {

namespace {
// The kernel echoes attributes nft leaves out (lookup flags 0, log level warning): fill
// those defaults in so a rule we built and the same rule read back print alike.
void fill_echoed_defaults(nftnl_expr* e) {
    std::string name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
    if (name == "lookup" && !nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_FLAGS))
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, 0);
    if (name == "log" && !nftnl_expr_is_set(e, NFTNL_EXPR_LOG_LEVEL) &&
        !nftnl_expr_is_set(e, NFTNL_EXPR_LOG_GROUP))
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOG_LEVEL, 4);  // NFT_LOGLEVEL_WARNING
    if (name == "dynset" && !nftnl_expr_is_set(e, NFTNL_EXPR_DYNSET_TIMEOUT))
        nftnl_expr_set_u64(e, NFTNL_EXPR_DYNSET_TIMEOUT, 0);  // "timeout 0ms" once echoed
}
}  // namespace

std::string canonical_exprs(nftnl_rule* r) {
    std::string out;
    ExprIterPtr it(nftnl_expr_iter_create(r));
    if (!it) throw std::bad_alloc();
    char buf[4096];
    while (nftnl_expr* e = nftnl_expr_iter_next(it.get())) {
        fill_echoed_defaults(e);
        int n = nftnl_expr_snprintf(buf, sizeof buf, e, NFTNL_OUTPUT_DEFAULT, 0);
        std::string text(buf, n > 0 ? std::min<size_t>(n, sizeof buf - 1) : 0);
        while (!text.empty() && text.back() == ' ') text.pop_back();
        out += "[ ";
        out += nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
        out += " ";
        out += text;
        out += " ]\n";
    }
    return out;
}

void set_rule_comment(nftnl_rule* r, const std::string& comment) {
    auto ud = must<UdataPtr>(nftnl_udata_buf_alloc(kUserdataMax));
    if (!nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_RULE_COMMENT, comment.c_str()))
        throw std::length_error("rule comment too long: " + comment);
    nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud.get()),
                        nftnl_udata_buf_len(ud.get()));
}

std::string udata_comment(const void* data, uint32_t len, uint8_t type) {
    auto* p = static_cast<const char*>(data);
    const nftnl_udata* a;
    nftnl_udata_for_each_data(p, len, a) {
        if (nftnl_udata_type(a) != type) continue;
        auto* v = static_cast<const char*>(nftnl_udata_get(a));
        return std::string(v, strnlen(v, nftnl_udata_len(a)));
    }
    return {};
}

std::string rule_comment_of(const nftnl_rule* r) {
    if (!nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)) return {};
    uint32_t len = 0;
    const void* data = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
    return udata_comment(data, len, NFTNL_UDATA_RULE_COMMENT);
}

}  // namespace detail

void annotate(Table& t) {
    for (auto& [name, chain] : t.chains)
        for (auto& rule : chain.rules) {
            if (rule.stmts.empty()) continue;
            auto r = detail::must<detail::RulePtr>(nftnl_rule_alloc());
            detail::linearize(r.get(), rule, t);
            rule.exprs = detail::canonical_exprs(r.get());
        }
}

}  // namespace ivozfw::nft
