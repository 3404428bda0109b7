// SPDX-License-Identifier: GPL-2.0-or-later
#include "fleet/message.h"

#include <fmt/format.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "fleet/bans.h"
#include "input/json_limits.h"
#include "input/quote.h"

namespace ivozfw::fleet {

std::string Message::address() const {
    std::string a = net::format_address(family, value);
    return prefix < net::bits(family) ? fmt::format("{}/{}", a, prefix) : a;
}

namespace {

// HMAC-SHA256 of `text` under `key`, in lower-case hex.
std::string mac(const std::string& key, const std::string& text) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (!HMAC(EVP_sha256(), key.data(), int(key.size()), reinterpret_cast<const unsigned char*>(text.data()),
              text.size(), out, &len))
        throw std::runtime_error("HMAC-SHA256 failed");
    std::string hex;
    for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", out[i]);
    return hex;
}

}  // namespace

std::string sign(std::string_view text, const std::string& key) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return "";
    j.erase("sig");
    j["sig"] = mac(key, j.dump());
    return j.dump();
}

std::string encode(const Message& m, const std::string& key, int64_t now_ms) {
    nlohmann::json j{{"v", 2}, {"op", m.op == Message::Op::ban ? "ban" : "unban"}, {"address", m.address()},
                     {"origin", m.origin}, {"ts", now_ms}};
    if (m.op == Message::Op::ban) j["reason"] = m.reason, j["expires_ms"] = m.expires_ms;
    j["sig"] = mac(key, j.dump());   // the dump without "sig": keys sorted, compact
    return j.dump();
}

bool valid_reason(const std::string& r) {
    return !r.empty() && r.size() <= 32 && std::all_of(r.begin(), r.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

namespace {

// The address of a ban as this host keys it: IPv4 one address; IPv6 this host's prefix (a
// longer one widened to it, a shorter one refused: it would take many of our keys).
bool set_address(Message& m, const std::string& text, unsigned v6_prefix, std::string* why) {
    std::string err;
    auto p = net::parse_prefix(text, &err);
    if (!p) return *why = "address: " + err, false;
    m.family = p->addr.family;
    m.value = p->addr.value;
    m.prefix = p->len;
    if (m.family == net::Family::v4 && m.prefix != 32) return *why = "an IPv4 ban is one address, not a prefix", false;
    if (m.family == net::Family::v6) {
        if (m.prefix < v6_prefix)
            return *why = fmt::format("IPv6 prefix /{} is wider than this host's ban prefix /{}", m.prefix, v6_prefix),
                   false;
        unsigned drop = 128 - v6_prefix;
        m.value = drop >= 128 ? 0 : (m.value >> drop) << drop;
        m.prefix = v6_prefix;
    }
    return true;
}

const nlohmann::json* string_field(const nlohmann::json& j, const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? &*it : nullptr;
}

}  // namespace

std::optional<Message> unban(const std::string& address, const std::string& origin, unsigned v6_prefix,
                             std::string* why) {
    Message m;
    m.op = Message::Op::unban;
    m.origin = origin;
    if (!set_address(m, address, v6_prefix, why)) return std::nullopt;
    return m;
}

std::optional<Message> decode(std::string_view text, unsigned v6_prefix, const std::string& key, int64_t now_ms,
                              Freshness fresh, std::string* why) {
    auto fail = [&](std::string w) -> std::optional<Message> {
        *why = std::move(w);
        return std::nullopt;
    };
    if (text.size() > kMaxMessage) return fail(fmt::format("{} bytes, more than {}", text.size(), kMaxMessage));
    if (auto e = input::check_json_limits(text)) return fail("JSON: " + e->message);
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return fail("not JSON");
    if (!j.is_object()) return fail("not a JSON object");
    // The signature first: nothing of an unsigned or forged message is believed.
    auto sig = string_field(j, "sig");
    if (!sig) return fail("not signed (no \"sig\")");
    Message m;
    m.sig = sig->get<std::string>();
    j.erase("sig");
    std::string expect = mac(key, j.dump());
    if (m.sig.size() != expect.size() || CRYPTO_memcmp(m.sig.data(), expect.data(), expect.size()) != 0)
        return fail("bad signature (not signed with this fleet's key, or changed on the way)");
    auto v = j.find("v");
    if (v == j.end() || !v->is_number_integer() || v->get<int64_t>() != 2) return fail("\"v\" is not 2");
    auto ts = j.find("ts");
    if (ts == j.end() || !ts->is_number_integer()) return fail("no integer \"ts\"");
    m.ts = ts->get<int64_t>();
    if (m.ts < 1'000'000'000'000 || m.ts > 9'999'999'999'999) return fail("ts out of range");
    if (fresh == Freshness::channel && (m.ts < now_ms - kMaxAgeMs || m.ts > now_ms + kMaxAgeMs))
        return fail(fmt::format("signed {} s {} now: a replay, or a clock off by more than {} s",
                                std::abs(now_ms - m.ts) / 1000, m.ts < now_ms ? "before" : "after",
                                kMaxAgeMs / 1000));
    auto op = string_field(j, "op");
    if (!op) return fail("no \"op\"");
    if (*op == "ban") m.op = Message::Op::ban;
    else if (*op == "unban") m.op = Message::Op::unban;
    else return fail("op " + input::quote_short(op->get<std::string>()) + " is not ban or unban");
    auto origin = string_field(j, "origin");
    if (!origin || !valid_host(origin->get<std::string>())) return fail("no valid \"origin\"");
    m.origin = origin->get<std::string>();
    auto addr = string_field(j, "address");
    if (!addr) return fail("no \"address\"");
    if (!set_address(m, addr->get<std::string>(), v6_prefix, why)) return std::nullopt;
    if (m.op == Message::Op::unban) return m;
    auto reason = string_field(j, "reason");
    if (!reason || !valid_reason(reason->get<std::string>())) return fail("no valid \"reason\"");
    m.reason = reason->get<std::string>();
    auto exp = j.find("expires_ms");
    if (exp == j.end() || !exp->is_number_integer()) return fail("no integer \"expires_ms\"");
    m.expires_ms = exp->get<int64_t>();
    // Unix ms between 2001 and 2286: no arithmetic on it can overflow.
    if (m.expires_ms < 1'000'000'000'000 || m.expires_ms > 9'999'999'999'999) return fail("expires_ms out of range");
    if (m.expires_ms <= now_ms) return fail("expired");
    return m;
}

}  // namespace ivozfw::fleet
