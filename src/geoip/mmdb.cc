// SPDX-License-Identifier: GPL-2.0-or-later
#include "geoip/mmdb.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <maxminddb.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <vector>

namespace ivozfw::geoip {

namespace {

struct Db {
    MMDB_s mmdb{};
    std::string path;
    explicit Db(const std::string& p) : path(p) {
        int rc = MMDB_open(p.c_str(), MMDB_MODE_MMAP, &mmdb);
        if (rc != MMDB_SUCCESS) {
            std::string why = MMDB_strerror(rc);
            if (rc == MMDB_IO_ERROR) why += std::string(": ") + std::strerror(errno);
            throw Error(fmt::format("{}: cannot open GeoIP database: {}", p, why));
        }
    }
    ~Db() { MMDB_close(&mmdb); }
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;
};

using Path = std::vector<std::string>;

std::vector<Path> field_paths(const std::string& field) {
    if (field.empty()) return {{"country", "iso_code"}, {"registered_country", "iso_code"}, {"country_code"}};
    Path p;
    size_t start = 0;
    for (size_t dot; (dot = field.find('.', start)) != std::string::npos; start = dot + 1)
        p.push_back(field.substr(start, dot - start));
    p.push_back(field.substr(start));
    return {p};
}

std::string join(const Path& p) {
    std::string s;
    for (const auto& x : p) s += (s.empty() ? "" : ".") + x;
    return s;
}

// Country code of a data record: the first field path that holds a string. "" = none.
std::string decode_country(const Db& db, MMDB_entry_s entry, const std::vector<Path>& paths, std::string* schema) {
    for (const auto& p : paths) {
        std::vector<const char*> keys;
        for (const auto& k : p) keys.push_back(k.c_str());
        keys.push_back(nullptr);
        MMDB_entry_data_s data{};
        int rc = MMDB_aget_value(&entry, &data, keys.data());
        if (rc == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR || (rc == MMDB_SUCCESS && !data.has_data)) continue;
        if (rc != MMDB_SUCCESS)
            throw Error(fmt::format("{}: corrupt data record at offset {}: {}", db.path, entry.offset, MMDB_strerror(rc)));
        if (data.type != MMDB_DATA_TYPE_UTF8_STRING) continue;
        if (schema && schema->empty()) *schema = join(p);
        return std::string(data.utf8_string, data.data_size);
    }
    return {};
}

void check_type(const Db& db) {
    const auto& m = db.mmdb.metadata;
    if (m.ip_version != 4 && m.ip_version != 6)
        throw Error(fmt::format("{}: unsupported ip_version {}", db.path, m.ip_version));
    if (m.record_size != 24 && m.record_size != 28 && m.record_size != 32)
        throw Error(fmt::format("{}: unsupported record size {}", db.path, m.record_size));
    // The search tree (two records a node) and its 16-byte separator must fit in the file.
    // libmaxminddb 1.7.1 computes that size in 32 bits: a huge node_count wraps around the
    // check and MMDB_read_node reads past the mapping (a fuzzer finding).
    uint64_t tree = uint64_t(m.node_count) * m.record_size / 4;
    if (db.mmdb.file_size < 0 || tree + 16 > uint64_t(db.mmdb.file_size))
        throw Error(fmt::format("{}: corrupt metadata: a search tree of {} nodes does not fit in {} bytes", db.path,
                                m.node_count, db.mmdb.file_size));
    std::string type = m.database_type ? m.database_type : "";
    for (const char* bad : {"ASN", "ISP", "Connection-Type", "Domain", "Anonymous"})
        if (type.find(bad) != std::string::npos)
            throw Error(fmt::format("{}: is a {} database, not a country database", db.path, type));
}

// One record still to visit: a node to read, or a data record to emit. Records, not
// nodes, go on the stack so that networks come out in ascending address order.
struct Frame {
    uint8_t type;        // MMDB_RECORD_TYPE_*
    uint64_t value;      // node number (search node)
    MMDB_entry_s entry;  // data record
    uint8_t depth;       // prefix length of this record's network
    std::array<uint8_t, 16> ip;
};

bool first96_zero(const std::array<uint8_t, 16>& ip) {
    for (int i = 0; i < 12; ++i)
        if (ip[i]) return false;
    return true;
}

net::u128 to_u128(const std::array<uint8_t, 16>& ip, unsigned from, unsigned len) {
    net::u128 v = 0;
    for (unsigned i = from; i < from + len; ++i) v = (v << 8) | ip[i];
    return v;
}

// Appends in ascending order, merging with the previous range: the tree walk yields
// disjoint networks sorted, so the lists come out minimal without a sort.
void append(net::RangeList& l, net::Range r) {
    if (!l.empty() && l.back().hi != ~net::u128{0} && r.lo == l.back().hi + 1) {
        l.back().hi = r.hi;
        return;
    }
    if (!l.empty() && r.lo <= l.back().hi)
        throw Error("corrupt search tree: overlapping networks");   // cannot happen in a valid tree
    l.push_back(r);
}

struct Walker {
    const Db& db;
    const std::set<std::string>& wanted;
    std::vector<Path> paths;
    Walk out;
    // Data offset -> is its country wanted? Most networks share a handful of records.
    std::unordered_map<uint64_t, bool> cache;

    bool wanted_record(MMDB_entry_s e) {
        auto it = cache.find(e.offset);
        if (it != cache.end()) return it->second;
        std::string cc = decode_country(db, e, paths, &out.info.schema);
        if (!cc.empty()) out.countries_seen.insert(cc);
        return cache.emplace(e.offset, wanted.count(cc) > 0).first->second;
    }

    void emit(const std::array<uint8_t, 16>& ip, unsigned depth, MMDB_entry_s entry) {
        bool v6db = db.mmdb.metadata.ip_version == 6;
        bool v4 = !v6db || (depth >= 96 && first96_zero(ip));
        unsigned bitlen = v4 ? 32 : 128, plen = v4 ? (v6db ? depth - 96 : depth) : depth;
        net::u128 lo = v4 ? to_u128(ip, v6db ? 12 : 0, 4) : to_u128(ip, 0, 16);
        net::u128 host = plen >= bitlen ? 0 : (bitlen - plen == 128 ? ~net::u128{0} : (net::u128{1} << (bitlen - plen)) - 1);
        (v4 ? out.networks_v4 : out.networks_v6)++;
        if (!wanted_record(entry)) return;
        out.matched_networks++;
        append(v4 ? out.matched.v4 : out.matched.v6, {lo, lo | host});
        // A record above ::/96 in an IPv6 database also covers every IPv4 address.
        if (!v4 && depth <= 96 && first96_zero(ip)) append(out.matched.v4, {0, 0xffffffffu});
    }

    void run() {
        const auto& m = db.mmdb.metadata;
        unsigned bitlen = m.ip_version == 6 ? 128 : 32;
        uint64_t v4root = (m.ip_version == 6 && db.mmdb.ipv4_start_node.netmask == 96)
                              ? db.mmdb.ipv4_start_node.node_value : UINT64_MAX;
        std::vector<Frame> stack{{MMDB_RECORD_TYPE_SEARCH_NODE, 0, {}, 0, {}}};
        // In a tree every node has one parent (the IPv4 aliases are skipped below), so a
        // walk reads each node once. A corrupt file whose nodes share children would
        // otherwise take up to 2^128 steps.
        uint64_t reads = 0;
        while (!stack.empty()) {
            Frame f = stack.back();
            stack.pop_back();
            if (f.type == MMDB_RECORD_TYPE_DATA) {
                emit(f.ip, f.depth, f.entry);
                continue;
            }
            // libmaxminddb 1.7.1 checks neither bound: do it here.
            if (f.value >= m.node_count)
                throw Error(fmt::format("{}: corrupt search tree: node {} out of range", db.path, f.value));
            if (f.depth >= bitlen)
                throw Error(fmt::format("{}: corrupt search tree: deeper than {} bits", db.path, bitlen));
            if (++reads > m.node_count)
                throw Error(fmt::format("{}: corrupt search tree: node {} is reached twice", db.path, f.value));
            MMDB_search_node_s n{};
            if (int rc = MMDB_read_node(&db.mmdb, uint32_t(f.value), &n); rc != MMDB_SUCCESS)
                throw Error(fmt::format("{}: corrupt search tree at node {}: {}", db.path, f.value, MMDB_strerror(rc)));
            for (int side : {1, 0}) {   // right pushed first: left (lower addresses) comes out first
                Frame c{side ? n.right_record_type : n.left_record_type, side ? n.right_record : n.left_record,
                        side ? n.right_record_entry : n.left_record_entry, uint8_t(f.depth + 1), f.ip};
                if (side) c.ip[f.depth / 8] |= 0x80 >> (f.depth % 8);
                switch (c.type) {
                case MMDB_RECORD_TYPE_SEARCH_NODE:
                    if (c.value == v4root && !first96_zero(c.ip)) break;   // an alias of the IPv4 subtree
                    stack.push_back(c);
                    break;
                case MMDB_RECORD_TYPE_EMPTY: break;
                case MMDB_RECORD_TYPE_DATA: stack.push_back(c); break;
                default:
                    throw Error(fmt::format("{}: corrupt search tree: invalid record {} at node {}", db.path,
                                            c.value, f.value));
                }
            }
        }
    }
};

Info info_of(const Db& db) {
    const auto& m = db.mmdb.metadata;
    return Info{db.path, m.database_type ? m.database_type : "", m.build_epoch, unsigned(m.ip_version), m.node_count, {}};
}

}  // namespace

Walk walk(const std::string& path, const std::set<std::string>& countries, const std::string& field) {
    Db db(path);
    check_type(db);
    Walker w{db, countries, field_paths(field), {}, {}};
    w.out.info = info_of(db);
    w.run();
    if (w.out.networks_v4 + w.out.networks_v6 == 0) throw Error(path + ": the database holds no networks");
    if (w.out.info.schema.empty())
        throw Error(path + ": no record has a country code (" + (field.empty() ? "country.iso_code, registered_country.iso_code or country_code" : field) + ")");
    return std::move(w.out);
}

std::string lookup(const std::string& path, const net::Address& a, const std::string& field, Info* info) {
    Db db(path);
    check_type(db);
    if (info) *info = info_of(db);
    std::string text = net::format_address(a.family, a.value);
    int gai = 0, rc = 0;
    auto res = MMDB_lookup_string(&db.mmdb, text.c_str(), &gai, &rc);
    if (gai != 0 || rc != MMDB_SUCCESS)
        throw Error(fmt::format("{}: lookup of {} failed: {}", path, text, gai ? gai_strerror(gai) : MMDB_strerror(rc)));
    if (!res.found_entry) return {};
    return decode_country(db, res.entry, field_paths(field), info ? &info->schema : nullptr);
}

const net::AddressSet& special_purpose() {
    static const net::AddressSet s = [] {
        net::AddressSet out;
        for (const char* c : {"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
                              "172.16.0.0/12", "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15",
                              "224.0.0.0/4", "240.0.0.0/4", "::/128", "::1/128", "fc00::/7", "fe80::/10",
                              "ff00::/8"}) {
            std::string err;
            out.add(*net::parse_prefix(c, &err));
        }
        out.normalize();
        return out;
    }();
    return s;
}

}  // namespace ivozfw::geoip
