// SPDX-License-Identifier: GPL-2.0-or-later
#include "nft/element_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace ivozfw::nft {

using ruleset::Element;

namespace {

bool elem_less(const Element& a, const Element& b) { return a < b; }

void put_u32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void put_bytes(std::string& out, const std::string& s) {
    put_u32(out, s.size());
    out += s;
}
void put_bytes(std::string& out, const ruleset::Bytes& b) {
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
    ruleset::Bytes bytes() {
        auto t = str();
        return ruleset::Bytes(t.begin(), t.end());
    }
};

constexpr uint32_t kMagic = 0x69767a31;   // "ivz1"

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

ElementCache ElementCache::after(const std::optional<ruleset::Table>& live, const plan::Plan& plan,
                                 const ruleset::Table& desired) {
    ElementCache c;
    c.table = plan.table;
    if (live)
        for (const auto& [n, s] : live->sets)
            if (!s.dynamic) c.sets[n] = s.elements;
    for (const auto& op : plan.ops) {
        auto def = desired.sets.find(op.name);
        bool dynamic = def != desired.sets.end() && def->second.dynamic;
        switch (op.verb) {
        case plan::Op::delete_table: c.sets.clear(); break;
        case plan::Op::delete_set: c.sets.erase(op.name); break;
        case plan::Op::add_set:
            if (!dynamic) c.sets[op.name] = {};
            break;
        case plan::Op::add_elements:
        case plan::Op::delete_elements: {
            if (dynamic || !c.sets.count(op.name)) break;
            auto& els = c.sets[op.name];
            std::vector<Element> change = op.elements, out;
            std::sort(change.begin(), change.end(), elem_less);
            std::sort(els.begin(), els.end(), elem_less);
            if (op.verb == plan::Op::add_elements)
                std::merge(els.begin(), els.end(), change.begin(), change.end(), std::back_inserter(out), elem_less);
            else
                std::set_difference(els.begin(), els.end(), change.begin(), change.end(), std::back_inserter(out), elem_less);
            els = std::move(out);
            break;
        }
        default: break;
        }
    }
    return c;
}

void ElementCache::save(const std::string& path) const {
    std::string out;
    put_u32(out, kMagic);
    put_bytes(out, boot_id);
    put_u32(out, uint32_t(netns_cookie));
    put_u32(out, uint32_t(netns_cookie >> 32));
    put_u32(out, genid);
    put_bytes(out, table);
    put_u32(out, sets.size());
    for (const auto& [name, els] : sets) {
        put_bytes(out, name);
        put_u32(out, els.size());
        for (const auto& e : els) {
            put_bytes(out, e.key);
            put_bytes(out, e.key_end);
            out += char(e.verdict ? 1 + e.verdict->kind : 0);
            if (e.verdict) put_bytes(out, e.verdict->chain);
        }
    }
    // Company ranges are not for everyone's eyes: 0600, like the rest of the state.
    std::string tmp = path + ".tmp";
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    bool ok = write(fd, out.data(), out.size()) == ssize_t(out.size());
    close(fd);
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) std::remove(tmp.c_str());
}

std::optional<ElementCache> ElementCache::load(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return std::nullopt;
    std::string data((std::istreambuf_iterator<char>(f)), {});
    In in{data};
    if (in.u32() != kMagic) return std::nullopt;
    ElementCache c;
    c.boot_id = in.str();
    c.netns_cookie = in.u32();
    c.netns_cookie |= uint64_t(in.u32()) << 32;
    c.genid = in.u32();
    c.table = in.str();
    for (uint32_t n = in.u32(); in.ok && n--;) {
        auto& els = c.sets[in.str()];
        for (uint32_t k = in.u32(); in.ok && k--;) {
            Element e{in.bytes(), in.bytes(), {}, {}};
            if (in.pos >= data.size()) return std::nullopt;
            uint8_t v = data[in.pos++];
            if (v) e.verdict = ruleset::Verdict{ruleset::Verdict::Kind(v - 1), in.str()};
            els.push_back(std::move(e));
        }
    }
    if (!in.ok) return std::nullopt;
    return c;
}

}  // namespace ivozfw::nft
