// SPDX-License-Identifier: GPL-2.0-or-later
// Set definitions <-> nftnl_set, with the userdata nft 1.0.6 writes so `nft list` prints
// our sets exactly like its own.
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <cstring>

#include "nft/internal.h"

namespace ivozfw::nft::detail {

namespace {
constexpr unsigned kTypeBits = 6;  // nft TYPE_BITS: concat type ids are packed 6 bits each
constexpr uint32_t kBigEndian = 2; // nft enum byteorder
constexpr uint32_t kUserdataMax = 256;

std::optional<KeyType> key_type_from_id(unsigned id) {
    for (auto t : {KeyType::ipv4_addr, KeyType::ipv6_addr, KeyType::inet_proto,
                   KeyType::inet_service, KeyType::icmp_type, KeyType::icmpv6_type})
        if (nft_type_id(t) == id) return t;
    return std::nullopt;
}

uint32_t pad4(uint32_t n) { return (n + 3) & ~3u; }

void put_set_userdata(nftnl_set* s, const Set& def) {
    auto ud = must<UdataPtr>(nftnl_udata_buf_alloc(kUserdataMax));
    // Every key type we use is big endian in nft, concatenations included.
    nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_KEYBYTEORDER, kBigEndian);
    if (def.verdict_map) {
        nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_DATABYTEORDER, 0);  // verdict: invalid
        nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_DATA_INTERVAL, 0);
    }
    if (!def.comment.empty())
        nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_SET_COMMENT, def.comment.c_str());
    nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud.get()),
                       nftnl_udata_buf_len(ud.get()));
}

std::string set_comment(const nftnl_set* s) {
    if (!nftnl_set_is_set(s, NFTNL_SET_USERDATA)) return {};
    uint32_t len = 0;
    const void* data = nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len);
    return udata_comment(data, len, NFTNL_UDATA_SET_COMMENT);
}
}  // namespace

uint32_t concat_key_len(const std::vector<KeyType>& key) {
    if (key.size() == 1) return key_len(key[0]);
    uint32_t n = 0;
    for (auto t : key) n += pad4(key_len(t));
    return n;
}

SetPtr set_handle(const std::string& table, const std::string& name) {
    auto s = must<SetPtr>(nftnl_set_alloc());
    nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NFPROTO_INET);
    nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table.c_str());
    nftnl_set_set_str(s.get(), NFTNL_SET_NAME, name.c_str());
    return s;
}

SetPtr build_set(const Set& def, const std::string& table, uint32_t set_id) {
    auto s = set_handle(table, def.name);
    nftnl_set* p = s.get();
    nftnl_set_set_u32(p, NFTNL_SET_ID, set_id);
    uint32_t flags = 0, type = 0;
    if (def.interval) flags |= NFT_SET_INTERVAL;
    if (def.verdict_map) flags |= NFT_SET_MAP;
    if (def.timeout) flags |= NFT_SET_TIMEOUT;
    if (def.dynamic) flags |= NFT_SET_EVAL;
    if (def.interval && def.key.size() > 1) flags |= NFT_SET_CONCAT;
    for (auto t : def.key) type = (type << kTypeBits) | nft_type_id(t);
    nftnl_set_set_u32(p, NFTNL_SET_FLAGS, flags);
    nftnl_set_set_u32(p, NFTNL_SET_KEY_TYPE, type);
    nftnl_set_set_u32(p, NFTNL_SET_KEY_LEN, concat_key_len(def.key));
    if (def.verdict_map) {
        nftnl_set_set_u32(p, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
        nftnl_set_set_u32(p, NFTNL_SET_DATA_LEN, 0);
    }
    if (def.timeout_ms) nftnl_set_set_u64(p, NFTNL_SET_TIMEOUT, def.timeout_ms);
    if (def.size) nftnl_set_set_u32(p, NFTNL_SET_DESC_SIZE, def.size);
    if (def.key.size() > 1) {
        // libnftnl counts fields up to the first 0: keep the array zero terminated.
        uint8_t fl[NFT_REG32_COUNT + 1] = {};
        for (size_t i = 0; i < def.key.size() && i < NFT_REG32_COUNT; ++i)
            fl[i] = static_cast<uint8_t>(key_len(def.key[i]));
        nftnl_set_set_data(p, NFTNL_SET_DESC_CONCAT, fl, def.key.size());
    }
    put_set_userdata(p, def);
    return s;
}

Set parse_set(const nftnl_set* s) {
    Set d;
    d.name = nftnl_set_get_str(s, NFTNL_SET_NAME);
    uint32_t flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
    uint32_t type = nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE);
    while (type) {
        auto t = key_type_from_id(type & ((1u << kTypeBits) - 1));
        if (!t) { d.key.clear(); break; }  // caller skips sets of foreign types
        d.key.insert(d.key.begin(), *t);
        type >>= kTypeBits;
    }
    d.interval = flags & NFT_SET_INTERVAL;
    d.verdict_map = (flags & NFT_SET_MAP) && nftnl_set_is_set(s, NFTNL_SET_DATA_TYPE) &&
                    nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE) == NFT_DATA_VERDICT;
    d.timeout = flags & NFT_SET_TIMEOUT;
    d.dynamic = flags & NFT_SET_EVAL;
    if (nftnl_set_is_set(s, NFTNL_SET_TIMEOUT)) d.timeout_ms = nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT);
    if (nftnl_set_is_set(s, NFTNL_SET_DESC_SIZE)) d.size = nftnl_set_get_u32(s, NFTNL_SET_DESC_SIZE);
    d.comment = set_comment(s);
    return d;
}

}  // namespace ivozfw::nft::detail
