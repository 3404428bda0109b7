// SPDX-License-Identifier: GPL-2.0-or-later
// Inputs that cannot crash it (issue 9): bounded nesting and sizes, short quoting of bad
// input, numbers the kernel would refuse, durations that would overflow.
#include <catch2/catch.hpp>

#include <functional>
#include <stdexcept>
#include <string>

#include "companies/companies.h"
#include "input/json_limits.h"
#include "input/quote.h"
#include "policy/policy.h"
#include "policy_errors.h"
#include "ruleset/compile.h"
#include "ruleset/values.h"

using namespace ivozfw;
using test::errors_of;

namespace {

std::string with(const std::string& extra) {
    return R"({ "lists": { "admin": ["192.0.2.10"] },
               "services": { "sip": { "udp": [5060], "tcp": [5060] }, "sip-tls": { "tcp": [5061] },
                             "ssh": { "tcp": [22], "from": ["admin"] } }, )" +
           extra + " }";
}

std::string runtime_error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("quote_short keeps short input and cuts long input to a prefix and its size") {
    CHECK(input::quote_short("abc") == "\"abc\"");
    CHECK(input::quote_short("a\nb") == "\"a?b\"");
    std::string big(10 << 20, 'x');
    CHECK(input::quote_short(big) == "\"" + std::string(60, 'x') + "…\" (10485760 bytes)");
    // A cut never splits a UTF-8 sequence: "é" is 2 bytes, the 60th byte would split one.
    std::string accents = std::string(59, 'a') + "éé";
    CHECK(input::quote_short(accents) == "\"" + std::string(59, 'a') + "…\" (63 bytes)");
    // nlohmann's messages: only the quoted input is cut, what follows it stays.
    std::string token(100, 'x');
    CHECK(input::shorten_parse_error("syntax error - invalid literal; last read: '" + token + "'; expected '['") ==
          "syntax error - invalid literal; last read: '" + std::string(60, 'x') + "…' (100 bytes); expected '['");
    CHECK(input::shorten_parse_error("syntax error; last read: 'x'") == "syntax error; last read: 'x'");
}

TEST_CASE("a policy nested 300,000 deep is refused with its line and column, not a crash") {
    // The object is level 1: the 64th "[" (column 75) is one too many.
    std::string deep = "{\n  \"lists\": " + std::string(300000, '[') + std::string(300000, ']') + "}";
    CHECK(errors_of(deep) == std::vector<std::string>{"p.json:2:75: error: nested deeper than 64 levels"});
    // Brackets inside strings and comments do not count.
    std::string quoted = "{ \"description\": \"" + std::string(100, '[') + "\" // " + std::string(100, '{') +
                         "\n /* [[[[[[ */ }";
    CHECK(errors_of(quoted).empty());
    // The parser ends a // comment at \r: what follows is nesting.
    CHECK(errors_of("// x\r" + std::string(100, '[')) ==
          std::vector<std::string>{"p.json:1:70: error: nested deeper than 64 levels"});
    // 64 levels are still JSON (then simply not a policy).
    std::string ok = std::string(64, '[') + std::string(64, ']');
    CHECK(errors_of(ok) == std::vector<std::string>{"p.json: error: expected an object, got array"});
}

TEST_CASE("the JSON limits: strings of 4 KiB and documents of 16 MiB") {
    auto e = input::check_json_limits("{\"a\":\n \"" + std::string(5000, 'x') + "\"}");
    REQUIRE(e);
    CHECK(e->line == 2);
    CHECK(e->column == 2);
    CHECK(e->message == "string of 5000 bytes is too long (at most 4096)");
    CHECK_FALSE(input::check_json_limits("{\"a\": \"" + std::string(4096, 'x') + "\"}"));
    // An escaped quote does not end the string.
    CHECK_FALSE(input::check_json_limits(R"({"a": "\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})"));
    auto big = input::check_json_limits(std::string(input::kMaxJsonBytes + 1, ' '));
    REQUIRE(big);
    CHECK(big->message == "16777217 bytes is too large (at most 16 MiB)");
}

TEST_CASE("a 10 MB string is quoted short in every error that echoes it") {
    std::string big(10 << 20, 'a');
    // Over the string limit: refused before parsing, nothing echoed.
    auto errors = errors_of(with(R"("table": ")" + big + "\""));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0] == "p.json:3:84: error: string of 10485760 bytes is too long (at most 4096)");
    // Under it, but bad: quoted short.
    std::string name(4000, 'a');
    errors = errors_of(with(R"("table": ")" + name + "\""));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0] == "p.json: table: error: \"" + std::string(60, 'a') +
                           "…\" (4000 bytes) is not a valid table name ([a-z][a-z0-9_], at most 31 characters)");
    errors = errors_of(with(R"("lists": {"x": [")" + name + "\"]}"));
    REQUIRE_FALSE(errors.empty());
    for (const auto& e : errors) CHECK(e.size() < 200);
    // Addresses given on the command line go through the same parser.
    std::string err;
    CHECK_FALSE(net::parse_prefix(big, &err));
    CHECK(err == "\"" + std::string(60, 'a') + "…\" (10485760 bytes) is not an IP address or CIDR prefix");
    // A company row and a company file.
    auto l = companies::parse_document(R"({"id": 1, "ranges": [")" + name + "\"]}", "c.json");
    REQUIRE(l.warnings.size() == 1);
    CHECK(l.warnings[0].size() < 200);
    CHECK(runtime_error_of([&] { companies::parse_document("[\"" + big + "\"]", "c.json"); }) ==
          "c.json:1:2: string of 10485760 bytes is too long (at most 4096)");
    CHECK(runtime_error_of([&] { companies::parse_document("[" + name, "c.json"); }).size() < 300);
}

TEST_CASE("a number too large for a double is an error of the reader, quoted short") {
    // nlohmann throws out_of_range, not parse_error: it escaped both readers (found by fuzz_companies).
    CHECK(errors_of(with(R"("icmp": {"echo_rate": 1e999})")) ==
          std::vector<std::string>{"p.json: error: number overflow parsing '1e999'"});
    CHECK(runtime_error_of([] { companies::parse_document(R"({"id": 1e999})", "c.json"); }) ==
          "c.json: broken JSON: [json.exception.out_of_range.406] number overflow parsing '1e999'");
    std::string huge = "1" + std::string(100000, '0') + "e999";
    auto errors = errors_of("[" + huge + "]");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0] == "p.json: error: number overflow parsing '" + std::string(60, '1').replace(1, 59, 59, '0') +
                           "…' (100005 bytes)");
}

TEST_CASE("numbers the kernel refuses are errors naming their path") {
    CHECK(errors_of(with(R"("icmp": {"echo_rate": 0})")) ==
          std::vector<std::string>{"p.json: icmp.echo_rate: error: 0 is not a rate (must be >= 1)"});
    CHECK(errors_of(with(R"("antiflood": {"rate": "1/hour", "burst": 4294967295})")) ==
          std::vector<std::string>{"p.json: antiflood.burst: error: a burst of 4294967295 at 1 per 3600s takes "
                                   "178956970 days to refill; at most 24855 days (raise the rate or lower the burst)"});
    CHECK(errors_of(with(R"("antiflood": {"burst": 4294967296})")) ==
          std::vector<std::string>{"p.json: antiflood.burst: error: 4294967296 is out of range (1-4294967295)"});
    CHECK(errors_of(with(R"("antiflood": {"rate": "1/hour", "burst": 596523})")).empty());   // 24855 days
    CHECK(errors_of(with(R"("logging": {"rate": "1/hour", "burst": 1000000})")).size() == 1);
}

TEST_CASE("ban --for durations are parsed with overflow checks and capped at the kernel limit") {
    using ruleset::parse_duration_ms;
    CHECK(parse_duration_ms("300") == 300000);
    CHECK(parse_duration_ms("1500ms") == 1500);
    CHECK(parse_duration_ms("1h") == 3600000);
    CHECK(parse_duration_ms("24855d") == 24855ull * 86400000);
    for (const char* bad : {"213503982335d", "24856d", "99999999999999999999999999", "18446744073709551616ms"}) {
        CAPTURE(bad);
        std::string e = runtime_error_of([&] { parse_duration_ms(bad); });
        CHECK(e == "\"" + std::string(bad) + "\" is too long a duration (e.g. 300s, 5m, 1h, 1d; at most 24855d)");
    }
    CHECK(runtime_error_of([] { parse_duration_ms("5 minutes"); }) ==
          "\"5 minutes\" is not a duration (e.g. 300s, 5m, 1h, 1d; at most 24855d)");
    CHECK(runtime_error_of([] { parse_duration_ms("0s"); }) == "a ban must last at least 1 ms");
    CHECK(runtime_error_of([] { parse_duration_ms(std::string(1 << 20, '9')); }).size() < 200);
}

TEST_CASE("antiflood without services meters the public SIP services, and check says so") {
    auto p = policy::load_text(with(R"("antiflood": {})"), "p.json");
    REQUIRE(p.antiflood);
    CHECK(p.antiflood->default_services);
    CHECK(p.antiflood->services == std::vector<std::string>{"sip", "sip-tls"});
    CHECK(ruleset::antiflood_summary(p) ==
          "sip (udp 5060, tcp 5060), sip-tls (tcp 5061) (default: the public SIP services)");
    // The meters are really there.
    auto t = ruleset::compile(p);
    CHECK(t.sets.count("flood_v4") == 1);

    auto listed = policy::load_text(with(R"("antiflood": {"services": ["sip-tls"]})"), "p.json");
    CHECK(ruleset::antiflood_summary(listed) == "sip-tls (tcp 5061)");

    // No SIP service to default to, or an explicit empty list: meters that meter nothing.
    CHECK(errors_of(R"({"services": {"web": {"tcp": [443]}}, "antiflood": {}})") ==
          std::vector<std::string>{"p.json: antiflood: error: no \"services\" given and no public SIP service "
                                   "(named sip*) to meter by default: list the services to meter"});
    CHECK(errors_of(with(R"("antiflood": {"services": []})")) ==
          std::vector<std::string>{"p.json: antiflood.services: error: must name at least one service (leave it "
                                   "out to meter the SIP services)"});
}
