// SPDX-License-Identifier: GPL-2.0-or-later
#include "nft/element_cache.h"

#include "io/atomic_file.h"
#include "io/checksum.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace ivozfw::nft {

using ruleset::Element;

namespace {

void put_u32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void put_bytes(std::string& out, const std::string& s) {
    put_u32(out, s.size());
    out += s;
}
void put_bytes(std::string& out, const ruleset::Key& b) {
    put_u32(out, b.size());
    out.append(reinterpret_cast<const char*>(b.data()), b.size());
}

struct In {
    const std::string& s;
    size_t pos = 0;
    bool ok = true;
    uint32_t u32() {
        uint32_t v = 0;
        if (pos + 4 > s.size()) return ok = false, 0;
        std::copy_n(s.data() + pos, 4, reinterpret_cast<char*>(&v));
        pos += 4;
        return v;
    }
    std::string str() {
        uint32_t n = u32();
        if (!ok || pos + n > s.size()) return ok = false, std::string();
        pos += n;
        return s.substr(pos - n, n);
    }
    ruleset::Key key() {   // straight from the file's bytes: no string, no vector
        uint32_t n = u32();
        if (!ok || pos + n > s.size()) return ok = false, ruleset::Key();
        pos += n;
        return ruleset::Key(reinterpret_cast<const uint8_t*>(s.data()) + pos - n, n);
    }
};

constexpr uint32_t kMagic = 0x69767a32;   // "ivz2": length and checksum after it
constexpr size_t kHeader = 16;             // magic, length, checksum

}  // namespace

std::string boot_id() {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string id;
    std::getline(in, id);
    return id;
}

bool ElementCache::valid_for(const std::string& t, uint32_t g, uint64_t cookie) const {
    return cookie != 0 && netns_cookie == cookie && genid == g && table == t && boot_id == nft::boot_id();
}

ElementCache ElementCache::of(std::optional<ruleset::Table> after, const std::string& table) {
    ElementCache c;
    c.table = table;
    if (after)
        for (auto& [n, s] : after->sets)
            if (!s.dynamic) c.sets[n] = std::move(s.elements);
    return c;
}

static uint64_t checksum(const std::string& s, size_t from) { return io::checksum(std::string_view(s).substr(from)); }

void ElementCache::save(const std::string& path,
                        const std::map<std::string, const std::vector<ruleset::Element>*>& whole) const {
    std::string out;
    put_u32(out, kMagic);
    put_u32(out, 0);   // payload length, below
    put_u32(out, 0);   // checksum, low and high words
    put_u32(out, 0);
    put_bytes(out, boot_id);
    put_u32(out, uint32_t(netns_cookie));
    put_u32(out, uint32_t(netns_cookie >> 32));
    put_u32(out, genid);
    put_bytes(out, table);
    put_u32(out, sets.size());
    for (const auto& [name, own] : sets) {
        auto w = whole.find(name);
        const auto& els = w != whole.end() ? *w->second : own;
        put_bytes(out, name);
        put_u32(out, els.size());
        for (const auto& e : els) {
            put_bytes(out, e.key);
            put_bytes(out, e.key_end);
            const auto& v = e.verdict();
            out += char(v ? 1 + v->kind : 0);
            if (v) put_bytes(out, v->chain);
        }
    }
    uint32_t len = uint32_t(out.size() - kHeader);
    uint64_t sum = checksum(out, kHeader);
    std::copy_n(reinterpret_cast<const char*>(&len), 4, out.data() + 4);
    std::copy_n(reinterpret_cast<const char*>(&sum), 8, out.data() + 8);
    // The side file describes the file being replaced: gone first, so a crash in between
    // never pairs it with the new file.
    std::remove((path + ".gen").c_str());
    // Company ranges are not for everyone's eyes: 0600, like the rest of the state. No
    // fsync: the cache is believed only within the boot that wrote it (boot_id).
    io::write_atomic(path, out, 0600, io::Sync::this_boot);
}

ElementCache::Loaded ElementCache::load(const std::string& path) {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f) return {};
    std::string data(size_t(std::max<std::streamoff>(f.tellg(), 0)), '\0');   // one read, not a char at a time
    f.seekg(0);
    if (!f.read(data.data(), std::streamsize(data.size()))) return {std::nullopt, path + ": cannot be read; discarded"};
    auto bad = [&](const std::string& why) { return Loaded{std::nullopt, path + ": " + why + "; discarded"}; };
    In in{data};
    if (in.u32() != kMagic) return bad("not an element cache of this version");
    uint32_t len = in.u32();
    uint64_t sum = in.u32();
    sum |= uint64_t(in.u32()) << 32;
    if (!in.ok || data.size() != kHeader + size_t(len)) return bad("truncated or padded");
    if (checksum(data, kHeader) != sum) return bad("checksum mismatch");
    ElementCache c;
    c.boot_id = in.str();
    c.netns_cookie = in.u32();
    c.netns_cookie |= uint64_t(in.u32()) << 32;
    c.genid = c.file_genid = in.u32();
    c.table = in.str();
    for (uint32_t n = in.u32(); in.ok && n--;) {
        auto& els = c.sets[in.str()];
        uint32_t k = in.u32();
        // A count larger than the bytes left is corrupt, not a reason to allocate.
        if (in.ok && size_t(k) <= (data.size() - in.pos) / 9) els.reserve(k);
        for (; in.ok && k--;) {
            if (data.size() - in.pos < 9) return bad("element count past the end");
            Element e{in.key(), in.key()};
            if (in.pos >= data.size()) return bad("element past the end");
            uint8_t v = data[in.pos++];
            if (v > 4) return bad("bad verdict");
            if (v) e.set().verdict = ruleset::Verdict{ruleset::Verdict::Kind(v - 1), in.str()};
            els.push_back(std::move(e));
        }
    }
    if (!in.ok || in.pos != data.size()) return bad("malformed");
    c.genid = moved_on(path, c);
    return {std::move(c), {}};
}

// "<file genid> <genid now> <netns cookie> <boot id>": commits that changed only dynamic sets
// (bans) since the file was written. One for another file, namespace or boot is ignored.
uint32_t ElementCache::moved_on(const std::string& path, const ElementCache& c) {
    std::ifstream in(path + ".gen");
    uint32_t from = 0, to = 0;
    uint64_t cookie = 0;
    std::string boot;
    if (in >> from >> to >> cookie >> boot && from == c.file_genid && cookie == c.netns_cookie && boot == c.boot_id)
        return to;
    return c.file_genid;
}

std::optional<ElementCache> ElementCache::peek(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return std::nullopt;
    std::string head(kHeader + 4096, '\0');
    f.read(head.data(), std::streamsize(head.size()));
    head.resize(size_t(f.gcount()));
    In in{head};
    if (in.u32() != kMagic) return std::nullopt;
    in.pos = kHeader;
    ElementCache c;
    c.boot_id = in.str();
    c.netns_cookie = in.u32();
    c.netns_cookie |= uint64_t(in.u32()) << 32;
    c.file_genid = in.u32();
    c.table = in.str();
    if (!in.ok) return std::nullopt;
    c.genid = moved_on(path, c);
    return c;
}

void ElementCache::bump(const std::string& path, const ElementCache& valid, uint32_t now) {
    io::write_atomic(path + ".gen",
                     fmt::format("{} {} {} {}\n", valid.file_genid, now, valid.netns_cookie, valid.boot_id), 0600,
                     io::Sync::this_boot);
}

}  // namespace ivozfw::nft
