// SPDX-License-Identifier: GPL-2.0-or-later
// Model elements <-> kernel set elements. Single-field interval sets use the rbtree
// start/end encoding (end exclusive, no end after all-ones); concatenated interval sets
// (pipapo) carry KEY and an inclusive KEY_END in one element.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <cstring>

#include "nft/internal.h"

namespace ivozfw::nft::detail {

namespace {
constexpr uint32_t kUdataElemFlags = NFTNL_UDATA_SET_ELEM_FLAGS;

bool all_ones(const Key& k) {
    return std::all_of(k.begin(), k.end(), [](uint8_t c) { return c == 0xff; });
}

// Big-endian +1 / -1 on the whole key (keys of single-field interval sets are big endian,
// at most 16 bytes: worked on in place, no allocation).
Key step(const Key& k, int by) {
    uint8_t small[16];
    Bytes big;
    uint8_t* b = small;
    if (k.size() > sizeof small) b = (big = k.bytes()).data();
    else std::memcpy(small, k.data(), k.size());
    for (size_t i = k.size(); i-- > 0;)
        if (by > 0 ? ++b[i] != 0 : b[i]-- != 0) break;
    return Key(b, k.size());
}
Key plus_one(const Key& k) { return step(k, +1); }
Key minus_one(const Key& k) { return step(k, -1); }

bool single_interval(const Set& def) { return def.interval && def.key.size() == 1; }

/// What a wire element carries besides its key; nullptr for a plain one.
std::shared_ptr<const ruleset::ElementExtras> wire_extras(const std::optional<Verdict>& v,
                                                          const std::optional<uint64_t>& timeout_ms = {},
                                                          const std::string& comment = {}) {
    ruleset::ElementExtras x{v, {}, timeout_ms, comment};
    return x.empty() ? nullptr : std::make_shared<const ruleset::ElementExtras>(std::move(x));
}

void encode_interval(const Element& e, std::vector<WireElem>& out) {
    const Key& hi = e.key_end.empty() ? e.key : e.key_end;
    out.push_back(WireElem{e.key, {}, false, false, wire_extras(e.verdict())});
    if (!all_ones(hi))
        out.push_back(WireElem{plus_one(hi), {}, true, false, nullptr});
    else
        out.back().open_end = true;
}

Element make_range(const Key& lo, const Key& hi, const std::optional<Verdict>& v) {
    Element e;
    e.key = lo;
    if (hi != lo) e.key_end = hi;
    if (v) e.set().verdict = v;
    return e;
}

std::vector<Element> decode_interval(std::vector<WireElem> wire) {
    std::sort(wire.begin(), wire.end(), [](const WireElem& a, const WireElem& b) {
        if (a.key != b.key) return a.key < b.key;
        return a.interval_end && !b.interval_end;  // END before START on equal keys
    });
    std::vector<Element> out;
    const WireElem* open = nullptr;
    for (const auto& w : wire) {
        if (w.interval_end) {
            if (open) out.push_back(make_range(open->key, minus_one(w.key), open->x().verdict));
            open = nullptr;  // an end with nothing open (nft's key-0 marker) is ignored
            continue;
        }
        if (open) out.push_back(make_range(open->key, minus_one(w.key), open->x().verdict));
        open = &w;
    }
    if (open) out.push_back(make_range(open->key, Key(Bytes(open->key.size(), 0xff)), open->x().verdict));
    return out;
}

}  // namespace

void encode_element(const Set& def, const Element& e, std::vector<WireElem>& out) {
    if (single_interval(def))
        encode_interval(e, out);
    else if (def.interval)
        out.push_back(WireElem{e.key, e.key_end.empty() ? e.key : e.key_end, false, false, wire_extras(e.verdict())});
    else
        out.push_back(WireElem{e.key, {}, false, false, wire_extras(e.verdict(), e.timeout_ms(), e.comment())});
}

std::vector<WireElem> encode_elements(const Set& def, const std::vector<Element>& els) {
    std::vector<WireElem> out;
    out.reserve(els.size() * 2);
    for (const auto& e : els) encode_element(def, e, out);
    return out;
}

std::vector<Element> decode_elements(const Set& def, std::vector<WireElem> wire) {
    std::vector<Element> out;
    if (single_interval(def)) {
        out = decode_interval(std::move(wire));
    } else {
        for (auto& w : wire) {
            Element e;
            e.key = std::move(w.key);
            if (def.interval) e.key_end = w.key_end.empty() ? e.key : std::move(w.key_end);
            if (w.extras) e.set() = *w.extras;
            out.push_back(std::move(e));
        }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

void add_to_nftnl(nftnl_set* s, const std::vector<WireElem>& wire, bool with_data) {
    for (const auto& w : wire) {
        auto e = must<ElemPtr>(nftnl_set_elem_alloc());
        nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_KEY, w.key.data(), w.key.size());
        if (!w.key_end.empty())
            nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_KEY_END, w.key_end.data(), w.key_end.size());
        if (w.interval_end)
            nftnl_set_elem_set_u32(e.get(), NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
        if (with_data && w.open_end) {
            // What nft marks a range running to the maximum with (only `nft list` reads it).
            uint8_t ud[6] = {kUdataElemFlags, 4};
            uint32_t f = NFTNL_SET_ELEM_F_INTERVAL_OPEN;
            memcpy(ud + 2, &f, sizeof f);
            nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_USERDATA, ud, sizeof ud);
        }
        const auto& x = w.x();
        if (with_data && x.timeout_ms)
            nftnl_set_elem_set_u64(e.get(), NFTNL_SET_ELEM_TIMEOUT, *x.timeout_ms);
        if (with_data && !x.comment.empty() && !w.open_end) {
            // nft's element comment: udata TLV NFTNL_UDATA_SET_ELEM_COMMENT, NUL included.
            std::vector<uint8_t> ud{uint8_t(NFTNL_UDATA_SET_ELEM_COMMENT),
                                    uint8_t(std::min<size_t>(x.comment.size() + 1, 128))};
            ud.insert(ud.end(), x.comment.begin(), x.comment.begin() + (ud[1] - 1));
            ud.push_back(0);
            nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_USERDATA, ud.data(), ud.size());
        }
        if (with_data && x.verdict) {
            static constexpr int32_t codes[] = {NF_ACCEPT, NF_DROP, NFT_JUMP, NFT_GOTO};
            nftnl_set_elem_set_u32(e.get(), NFTNL_SET_ELEM_VERDICT,
                                   static_cast<uint32_t>(codes[x.verdict->kind]));
            if (!x.verdict->chain.empty())
                nftnl_set_elem_set_str(e.get(), NFTNL_SET_ELEM_CHAIN, x.verdict->chain.c_str());
        }
        nftnl_set_elem_add(s, e.release());
    }
}

void read_from_nftnl(nftnl_set* s, std::vector<WireElem>& out) {
    nftnl_set_elem_foreach(
        s,
        [](nftnl_set_elem* e, void* data) -> int {
            auto& out = *static_cast<std::vector<WireElem>*>(data);
            WireElem w;
            ruleset::ElementExtras x;
            uint32_t len = 0;
            auto* k = static_cast<const uint8_t*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len));
            if (k) w.key = Key(k, len);
            if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY_END)) {
                k = static_cast<const uint8_t*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &len));
                w.key_end = Key(k, len);
            }
            if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
                w.interval_end = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END;
            if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT)) {
                Verdict v;
                switch (static_cast<int32_t>(nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT))) {
                case NF_ACCEPT: v.kind = Verdict::accept; break;
                case NFT_JUMP: v.kind = Verdict::jump; break;
                case NFT_GOTO: v.kind = Verdict::goto_; break;
                default: v.kind = Verdict::drop; break;
                }
                if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN))
                    v.chain = nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN);
                x.verdict = v;
            }
            if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION))
                x.expires_ms = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION);
            if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT))
                x.timeout_ms = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT);
            if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_USERDATA)) {
                uint32_t ulen = 0;
                auto* ud = static_cast<const char*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &ulen));
                const nftnl_udata* a;
                nftnl_udata_for_each_data(ud, ulen, a) {
                    if (nftnl_udata_type(a) != NFTNL_UDATA_SET_ELEM_COMMENT) continue;
                    auto* v = static_cast<const char*>(nftnl_udata_get(a));
                    x.comment.assign(v, strnlen(v, nftnl_udata_len(a)));
                }
            }
            if (!x.empty())
                w.extras = std::make_shared<const ruleset::ElementExtras>(std::move(x));
            out.push_back(std::move(w));
            return 0;
        },
        &out);
}

}  // namespace ivozfw::nft::detail
