// SPDX-License-Identifier: GPL-2.0-or-later
#include "net/sessions.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace ivozfw::net {

namespace {

constexpr const char* kEstablished = "01";   // TCP_ESTABLISHED, as the table prints it

bool hex_u32(const std::string& s, size_t pos, uint32_t* out) {
    if (pos + 8 > s.size()) return false;
    try {
        *out = uint32_t(std::stoul(s.substr(pos, 8), nullptr, 16));
    } catch (const std::exception&) {
        return false;
    }
    return true;
}

// "0100007F:0016": the address as the kernel's 32-bit words in host order (little endian
// here), then the port in hex.
bool endpoint(const std::string& field, bool v6, Address* a, uint16_t* port) {
    auto colon = field.find(':');
    if (colon == std::string::npos || colon != (v6 ? 32u : 8u)) return false;
    u128 value = 0;
    for (unsigned w = 0; w < (v6 ? 4u : 1u); ++w) {
        uint32_t word = 0;
        if (!hex_u32(field, w * 8, &word)) return false;
        uint32_t be = __builtin_bswap32(word);   // the word's bytes in network order
        value = (value << 32) | be;
    }
    try {
        unsigned long p = std::stoul(field.substr(colon + 1), nullptr, 16);
        if (p > 65535) return false;
        *port = uint16_t(p);
    } catch (const std::exception&) {
        return false;
    }
    if (v6 && (value >> 32) == 0xffff) *a = Address{Family::v4, value & 0xffffffffu};   // ::ffff:a.b.c.d
    else *a = Address{v6 ? Family::v6 : Family::v4, value};
    return true;
}

}  // namespace

std::vector<Session> parse_tcp_table(const std::string& text, bool v6, const std::set<uint16_t>& local_ports) {
    std::vector<Session> out;
    std::istringstream in(text);
    std::string line;
    std::getline(in, line);   // header
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string sl, local, remote, state;
        if (!(f >> sl >> local >> remote >> state) || state != kEstablished) continue;
        Address la, ra;
        uint16_t lport = 0, rport = 0;
        if (!endpoint(local, v6, &la, &lport) || !endpoint(remote, v6, &ra, &rport)) continue;
        if (local_ports.count(lport)) out.push_back(Session{ra, lport});
    }
    return out;
}

std::vector<Session> established_tcp(const std::set<uint16_t>& local_ports, const std::string& proc) {
    std::vector<Session> out;
    for (bool v6 : {false, true}) {
        std::ifstream f(proc + (v6 ? "/net/tcp6" : "/net/tcp"));
        if (!f) continue;
        std::stringstream ss;
        ss << f.rdbuf();
        for (auto& s : parse_tcp_table(ss.str(), v6, local_ports))
            if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);   // one per client and port
    }
    return out;
}

}  // namespace ivozfw::net
