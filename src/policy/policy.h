// SPDX-License-Identifier: GPL-2.0-or-later
// The declarative policy: JSON (comments allowed) -> typed, validated values. Every error
// names the file and the JSON path (or line and column for syntax errors); all errors are
// collected before giving up, so one run shows everything wrong.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "net/ip.h"

namespace ivozfw::policy {

enum class Proto : uint8_t { tcp = 6, udp = 17 };

/// Longest timeout ivozfw sends (set and element timeouts, the time a meter takes to
/// refill): 2^31-1 s, about 24855 days. The kernel's own bound (nf_msecs_to_jiffies64:
/// ms < U64_MAX / NSEC_PER_MSEC, about 213503 days) is higher; this one also keeps seconds
/// in a signed 32-bit number for nft and for limit's token arithmetic (nsecs/rate * burst).
constexpr uint64_t kMaxTimeoutS = (uint64_t{1} << 31) - 1;

struct PortRange {
    uint16_t lo = 0, hi = 0;
    bool operator==(const PortRange&) const = default;
};

struct Service {
    std::string name;
    std::vector<PortRange> tcp, udp;   // as written, validated
    /// Address lists allowed to reach it; empty = everyone.
    std::vector<std::string> from;
};

/// A SIP service, by IvozProvider's naming (sip, sip-tls, sip-trunks, sip-ws): the ones
/// companies.strict restricts and antiflood meters by default.
inline bool is_sip(const Service& s) { return s.name.starts_with("sip"); }

struct GeoIP {
    std::string database;
    enum class Mode { deny, allow } mode = Mode::deny;
    std::vector<std::string> countries;   // ISO 3166-1 alpha-2, upper case
    std::vector<std::string> services;    // empty = all publicly exposed
    unsigned max_shrink_percent = 20;
    std::string field;                     // explicit record path ("country.iso_code"), optional
};

struct Antiflood {
    std::vector<std::string> services;
    bool default_services = false;   // "services" left out: the public SIP services
    uint64_t rate = 50;  uint64_t rate_unit_s = 1;     // default 50/second
    uint32_t burst = 100;
    uint64_t ban_s = 300;
    uint64_t tcp_new_rate = 10; uint64_t tcp_new_unit_s = 1;
    uint32_t max_connections_per_source = 64;
    unsigned ipv6_prefix = 64;
    uint32_t max_tracked_sources = 262144;
    /// Aggregate cap on the UDP packets of each metered service from sources that are not
    /// exempt (application servers, trusted, admin, companies, carriers): a flood from more
    /// sources than the per-source meter can stop. Default 5000/second burst 50000: the burst
    /// absorbs the first packets of ~500 new sources (each sends antiflood.burst before its
    /// meter bans it), so a legit client does not pay for them; a long flood is held at the rate.
    uint64_t service_rate = 5000; uint64_t service_unit_s = 1;
    uint32_t service_burst = 50000;
    /// The same cap for TCP: new connections of each metered service with TCP ports, from
    /// sources that are not exempt, all together (after conntrack: a SYN flood from many
    /// sources each under tcp_new_connections). Burst = the rate, like tcp_new_connections.
    uint64_t service_tcp_rate = 500; uint64_t service_tcp_unit_s = 1;
    /// Whether conntrack tracks the metered UDP ports' datagrams. Untracked (notrack before
    /// conntrack, and the host's datagrams from those ports), a flood from any number of
    /// sources and ports fills no conntrack entry, but answers to the host's own requests
    /// are judged as new traffic. Unset (default): untracked unless the service's chain
    /// filters sources (GeoIP, companies.strict), where an answer from a peer the lists do
    /// not name (an outbound carrier) must pass as established. true: tracked everywhere (a
    /// NAT rule translating such a port needs it); false: untracked everywhere.
    std::optional<bool> conntrack_udp;
    /// Services on which the carriers list is not metered (the trunks proxy exempts its
    /// carriers from pike). Default: the metered services named sip-trunks*.
    std::vector<std::string> carrier_services;
};

struct Companies {
    std::string source;                  // directory, JSON file, "-" or "mysql:<credentials file>";
                                         // with a platform section: its database
    unsigned max_remove_percent = 50;
    bool strict = false;
};

/// The IvozProvider database as the source of the company ranges, application servers
/// (+ both proxies) and carriers. Its lists are merged with those the policy writes.
struct Platform {
    std::string database;                // "mysql:<option file>"
    unsigned max_remove_percent = 50;    // per list: more would be removed -> keep the kernel's
};

/// Bans as platform events (ivozfw bansync): every host's bans through the platform's Redis.
struct Fleet {
    struct Endpoint {
        std::string host;
        uint16_t port = 0;
    };
    std::vector<Endpoint> sentinels;   // sentinel://H1:P1,H2:P2/<master>
    std::string master;                // sentinel master name ("mymaster")
    Endpoint redis;                    // redis://HOST:PORT (no sentinel)
    unsigned db = 0;                   // /<db> after either form
    std::string credentials;           // file: key (required), password, user, sentinel_password (root, 0600)
    std::string host;                  // this host's name in the fleet; "" = gethostname()
    uint64_t max_ban_s = 86400;        // longest remote ban applied here
};

struct CallLimit {
    uint32_t max_media_flows_per_source = 0;   // 0 = off
};

struct Icmp {
    uint64_t echo_rate = 10;  // echo requests per second accepted (IPv4 and IPv6 each)
    uint32_t echo_burst = 20;
};

/// Logging of drops (off by default): each drop reason logs through one `limit ... log
/// prefix "<prefix> drop <reason>: "` rule, so a flood cannot flood the journal.
struct Logging {
    bool drops = false;
    uint64_t rate = 5; uint64_t rate_unit_s = 60;   // default 5/minute per reason
    uint32_t burst = 5;
    std::string prefix = "ivozfw";
};

/// What `ivozfw watch` does when something other than ivozfw changes the table: put back
/// what ivozfw last committed (default), or only log, count and show it.
struct Watch {
    enum class Drift : uint8_t { restore, report } drift = Drift::restore;
};

struct Policy {
    std::string path;                          // where it was read from ("-" for stdin)
    std::string table = "ivozfw";
    std::map<std::string, net::AddressSet> lists;   // admin, application_servers, ...
    std::vector<Service> services;             // in file order
    Icmp icmp;
    std::optional<GeoIP> geoip;
    std::optional<Antiflood> antiflood;
    std::optional<Companies> companies;
    std::optional<Platform> platform;
    std::optional<Fleet> fleet;
    CallLimit call_limit;
    Logging logging;
    Watch watch;
};

/// One problem found in a policy. `where` is "file:line:col" or "file: json.path".
struct Diagnostic {
    enum class Level { error, warning } level = Level::error;
    std::string where;
    std::string message;
    std::string str() const;   // "where: error: message"
};

struct LoadError : std::runtime_error {
    std::vector<Diagnostic> diagnostics;
    explicit LoadError(std::vector<Diagnostic> d);
};

/// Parse and validate. Warnings are appended to *warnings (may be null). Throws LoadError
/// with every error found. The file must exist, be readable and not be world-writable.
Policy load_file(const std::string& path, std::vector<Diagnostic>* warnings = nullptr);
/// Same, from text (`origin` names it in messages). No file permission checks.
Policy load_text(const std::string& text, const std::string& origin,
                 std::vector<Diagnostic>* warnings = nullptr);

/// The lists every policy has, even when it does not write them.
inline const char* const kBuiltinLists[] = {"admin", "application_servers", "antiflood_trusted", "carriers"};
/// Lists whose sources no guard applies to (set exempt_v4/v6): compile, explain and the ban
/// commands read this one list.
inline const char* const kExemptLists[] = {"application_servers", "antiflood_trusted", "admin"};

}  // namespace ivozfw::policy
