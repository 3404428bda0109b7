// SPDX-License-Identifier: GPL-2.0-or-later
// ivozfw's own model of one nftables table: what compile produces, what nft::read_table
// reads back, what plan compares. It knows nothing of libnftnl: the nft/ back end and
// render.cc translate it.
#pragma once

#include <algorithm>
#include <compare>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace ivozfw::ruleset {

using Bytes = std::vector<uint8_t>;

/// Data types of set keys, as nft names them (and numbers them, see nft datatype.h).
enum class KeyType : uint8_t {
    ipv4_addr,    // 4 bytes, big endian
    ipv6_addr,    // 16 bytes
    inet_proto,   // 1 byte
    inet_service, // 2 bytes, big endian
    icmp_type,    // 1 byte
    icmpv6_type,  // 1 byte
};
unsigned key_len(KeyType t);         // bytes on the wire, unpadded
const char* key_name(KeyType t);     // "ipv4_addr" ...
unsigned nft_type_id(KeyType t);     // nft's TYPE_* number

/// A verdict as a map value or a rule's last statement.
struct Verdict {
    enum Kind : uint8_t { accept, drop, jump, goto_ } kind = drop;
    std::string chain;  // for jump / goto
    bool operator==(const Verdict&) const = default;
};

/// The bytes of an element key. Up to 16 bytes (every key ivozfw compiles: an IPv6 address,
/// proto . port) are held inline, so an element costs no allocation; longer keys (a
/// concatenation someone else put in our table) go to the heap. Compares like Bytes.
class Key {
public:
    Key() = default;
    Key(std::initializer_list<uint8_t> v) { set(v.begin(), v.size()); }
    Key(const Bytes& b) { set(b.data(), b.size()); }   // NOLINT: implicit, keys come as Bytes
    Key(const uint8_t* p, size_t n) { set(p, n); }
    Key(const Key& o) { set(o.data(), o.size()); }
    Key(Key&& o) noexcept : n_(o.n_) {
        std::memcpy(&u_, &o.u_, sizeof u_);   // the inline bytes, or the heap pointer
        o.n_ = 0;
    }
    Key& operator=(const Key& o) {
        if (this != &o) set(o.data(), o.size());
        return *this;
    }
    Key& operator=(Key&& o) noexcept {
        if (this != &o) {
            release();
            n_ = o.n_;
            std::memcpy(&u_, &o.u_, sizeof u_);
            o.n_ = 0;
        }
        return *this;
    }
    ~Key() { release(); }
    size_t size() const { return n_; }
    bool empty() const { return n_ == 0; }
    const uint8_t* data() const { return n_ <= kInline ? u_.in : u_.big; }
    const uint8_t* begin() const { return data(); }
    const uint8_t* end() const { return data() + n_; }
    uint8_t operator[](size_t i) const { return data()[i]; }
    Bytes bytes() const { return Bytes(begin(), end()); }
    operator Bytes() const { return bytes(); }   // NOLINT: for the Bytes-taking helpers
    friend bool operator==(const Key& a, const Key& b) {
        return a.n_ == b.n_ && std::memcmp(a.data(), b.data(), a.n_) == 0;
    }
    friend std::strong_ordering operator<=>(const Key& a, const Key& b) {
        int c = std::memcmp(a.data(), b.data(), std::min(a.n_, b.n_));
        if (c != 0) return c < 0 ? std::strong_ordering::less : std::strong_ordering::greater;
        return a.n_ <=> b.n_;
    }

private:
    static constexpr size_t kInline = 16;
    void release() {
        if (n_ > kInline) delete[] u_.big;
        n_ = 0;
    }
    void set(const uint8_t* p, size_t n) {
        // p may point into this key's own storage: copy out before releasing it.
        if (n > kInline) {
            auto* big = new uint8_t[n];
            std::memcpy(big, p, n);
            release();
            u_.big = big;
        } else {
            uint8_t buf[kInline];
            if (n) std::memcpy(buf, p, n);
            release();
            if (n) std::memcpy(u_.in, buf, n);
        }
        n_ = uint32_t(n);
    }
    union {
        uint8_t in[kInline];
        uint8_t* big;
    } u_{};
    uint32_t n_ = 0;
};
static_assert(sizeof(Key) == 24, "a key is as small as the std::vector it replaces, without its allocation");

/// What few elements carry: a vmap's verdict, a dynamic set's timeouts, a ban's comment.
/// Held on the heap so that a plain element (every GeoIP, company and list interval) is two
/// keys and a null pointer, 56 bytes: a 200k-interval policy holds several copies.
struct ElementExtras {
    std::optional<Verdict> verdict;     // vmaps
    std::optional<uint64_t> expires_ms; // dynamic sets, as read back (never compared)
    std::optional<uint64_t> timeout_ms; // per-element timeout (ban --for); never compared
    std::string comment;                // element comment (manual bans); never compared
    bool empty() const { return !verdict && !expires_ms && !timeout_ms && comment.empty(); }
    /// What an element without extras reads.
    static const ElementExtras& none() {
        static const ElementExtras n;
        return n;
    }
};

/// One set element. For an interval set, key..key_end is the inclusive range (key_end empty
/// means a single value). For a concatenation, key and key_end hold every field, each
/// padded to 4 bytes as the kernel wants. Elements compare by bytes, i.e. by value.
struct Element {
    Key key;
    Key key_end;

    Element() = default;
    Element(Key k, Key end = {}) : key(std::move(k)), key_end(std::move(end)) {}   // NOLINT
    Element(Key k, Key end, Verdict v) : key(std::move(k)), key_end(std::move(end)) { set().verdict = std::move(v); }
    Element(const Element& o) : key(o.key), key_end(o.key_end), x_(o.x_ ? new ElementExtras(*o.x_) : nullptr) {}
    Element(Element&&) noexcept = default;
    Element& operator=(const Element& o) {
        if (this != &o) *this = Element(o);
        return *this;
    }
    Element& operator=(Element&&) noexcept = default;

    const std::optional<Verdict>& verdict() const { return extras().verdict; }
    const std::optional<uint64_t>& expires_ms() const { return extras().expires_ms; }
    const std::optional<uint64_t>& timeout_ms() const { return extras().timeout_ms; }
    const std::string& comment() const { return extras().comment; }
    const ElementExtras& extras() const { return x_ ? *x_ : ElementExtras::none(); }
    /// To write an extra: allocates them on first use.
    ElementExtras& set() {
        if (!x_) x_.reset(new ElementExtras);
        return *x_;
    }

    bool operator==(const Element& o) const {
        return key == o.key && key_end == o.key_end && verdict() == o.verdict();
    }
    bool operator<(const Element& o) const {
        if (auto c = key <=> o.key; c != 0) return c < 0;
        return key_end < o.key_end;
    }

private:
    std::unique_ptr<ElementExtras> x_;
};
static_assert(sizeof(Element) == 56, "two inline keys and a pointer: no per-element allocation");

struct Set {
    std::string name;
    std::vector<KeyType> key;          // more than one = concatenation
    bool interval = false;             // ranges (rbtree / pipapo)
    bool verdict_map = false;          // data is a verdict
    bool dynamic = false;              // filled by the kernel (dynset): elements never planned
    bool timeout = false;              // NFT_SET_TIMEOUT
    uint64_t timeout_ms = 0;           // default element timeout (0 = none)
    uint32_t size = 0;                 // 0 = kernel default
    std::string comment;
    std::vector<Element> elements;     // sorted, unique
    /// The definition only (not the elements): a change here means delete + create.
    bool same_definition(const Set& o) const {
        return key == o.key && interval == o.interval && verdict_map == o.verdict_map &&
               dynamic == o.dynamic && timeout == o.timeout && timeout_ms == o.timeout_ms &&
               size == o.size && comment == o.comment;   // the kernel cannot update a comment
    }
};

struct Counter {
    std::string name;
    std::string comment;
    uint64_t packets = 0, bytes = 0;   // read back; never planned
};

// ---- rules: a small typed expression language, enough for what ivozfw compiles ----

/// What a match or a map lookup reads from the packet.
enum class Selector : uint8_t {
    meta_nfproto,   // 1 byte: 2 = ipv4, 10 = ipv6
    meta_l4proto,   // 1 byte
    meta_iif,       // ifindex, 4 bytes host order (loopback is 1)
    meta_oif,       // output ifindex, as meta_iif
    ct_state,       // 4 bytes host order bitmask
    ip_saddr,       // 4 bytes
    ip6_saddr,      // 16 bytes
    th_dport,       // 2 bytes, transport header offset 2
    th_sport,       // 2 bytes, transport header offset 0
    icmp_type,      // 1 byte
    icmp_type_code, // 2 bytes: type, code (nft merges `icmp type x icmp code y` into one load)
    icmpv6_type,    // 1 byte
    fib_daddr_type, // 4 bytes host order: route type of the destination (RTN_LOCAL = 2)
    ct_status,      // 4 bytes host order bitmask (IPS_DST_NAT = 0x20: another table DNATed the flow)
    ct_orig_dport,  // `ct original proto-dst`: 2 bytes, the port the flow was sent to, before any DNAT
};

/// ct state bits (host order), as the kernel defines them.
enum CtState : uint32_t { ct_invalid = 1, ct_established = 2, ct_related = 4, ct_new = 8, ct_untracked = 64 };

/// ct status bits (host order): IPS_DST_NAT, set once a DNAT rule translated the flow.
constexpr uint32_t ct_status_dnat = 0x20;

/// Route types (fib daddr type), as the kernel numbers them.
constexpr uint32_t rtn_local = 2;

/// `sel == value`, `sel != value`, `sel & mask != 0` (ct state, ct status), `sel @set`, `sel != @set`.
struct Match {
    enum Op : uint8_t { eq, neq, any_bit, in_set, not_in_set } op = eq;
    std::vector<Selector> sel;   // >1 only for in_set on a concatenation
    Bytes value;                 // eq / neq / any_bit (mask); wire bytes
    std::string set;             // in_set / not_in_set
    /// Single selector only: `sel & prefix_mask` before comparing or looking up (an IPv6
    /// source reduced to its /64: `ip6 saddr & ffff:ffff:ffff:ffff:: @ban_v6`). Empty = none.
    Bytes prefix_mask;
    bool operator==(const Match&) const = default;
};

/// `counter name "x"`
struct CounterRef { std::string name; bool operator==(const CounterRef&) const = default; };

/// `limit rate [over] N/unit burst B packets`
struct Limit {
    uint64_t rate = 0;
    uint64_t unit_s = 1;   // 1, 60, 3600, 86400
    uint32_t burst = 0;
    bool over = false;
    bool operator==(const Limit&) const = default;
};

/// `log prefix "..."` (rate limiting is a separate Limit in the same rule, before it).
struct Log { std::string prefix; bool operator==(const Log&) const = default; };

/// `<sel...> vmap @set`
struct VmapLookup {
    std::vector<Selector> sel;
    std::string set;
    bool operator==(const VmapLookup&) const = default;
};

/// A dynamic set written from the packet path (nft dynset):
/// `update @flood_v4 { ip saddr limit rate over 50/second burst 100 packets }`,
/// `add @connlimit_v6 { ip6 saddr & ffff:ffff:ffff:ffff:: ct count over 64 }`.
/// The rule goes on only when the element could be added/refreshed and its embedded
/// statement (if any) matched: `limit rate over` when over the rate, `ct count over` when
/// over the count. A full set stops the rule too.
struct SetUpdate {
    enum Op : uint8_t { add, update } op = add;   // update refreshes the element's expiry
    Selector sel = Selector::ip_saddr;            // the key
    Bytes prefix_mask;                            // as Match::prefix_mask
    std::string set;
    std::optional<Limit> limit;                   // embedded `limit rate ...`
    std::optional<uint32_t> ct_count_over;        // embedded `ct count over N`
    bool operator==(const SetUpdate&) const = default;
};


/// `notrack`: conntrack skips the packet (only before conntrack's hook: raw priority).
struct Notrack { bool operator==(const Notrack&) const = default; };

using Stmt = std::variant<Match, CounterRef, Limit, Log, VmapLookup, Verdict, SetUpdate, Notrack>;

struct Rule {
    /// Stable identity, carried in the rule's comment as "ivozfw:<id>". Empty for a live rule
    /// somebody else put in our table.
    std::string id;
    std::vector<Stmt> stmts;           // typed form: compiled rules (empty for live rules)
    /// Canonical text of the kernel expressions, for comparing live with desired. Filled by
    /// the nft back end for both sides; plan compares it, never the typed form.
    std::string exprs;
    /// Live only: kernel handle, and the raw NFTA_RULE_EXPRESSIONS payload so a snapshot
    /// can put back a rule nobody can recompile (a hand edit).
    uint64_t handle = 0;
    Bytes wire;
    std::string comment;               // full comment as read back
};

/// Comment the kernel stores on an ivozfw rule ("ivozfw:<id>"), and its parser.
std::string rule_comment(const std::string& id);
std::optional<std::string> rule_id_from_comment(const std::string& comment);

struct Chain {
    std::string name;
    /// Base chain: hook ("input"), priority and policy. Empty hook = regular chain.
    std::string hook;
    int32_t priority = 0;
    std::optional<Verdict::Kind> policy;
    std::vector<Rule> rules;
    bool same_definition(const Chain& o) const {
        return hook == o.hook && priority == o.priority && policy == o.policy;
    }
};

/// One table, the unit ivozfw owns. Maps keep objects ordered by name: deterministic
/// output everywhere.
struct Table {
    std::string name = "ivozfw";       // family is always inet
    std::map<std::string, Set> sets;
    std::map<std::string, Counter> counters;
    std::map<std::string, Chain> chains;
    /// Order in which chains are created/rendered: regular chains before the base chain
    /// that jumps to them (nft needs a chain to exist before a rule names it).
    std::vector<std::string> chain_order;
    std::string comment;
};

}  // namespace ivozfw::ruleset
