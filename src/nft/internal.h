// SPDX-License-Identifier: GPL-2.0-or-later
// Private to src/nft: RAII wrappers for libnftnl objects and the helpers the .cc files share.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include <map>

#include "nft/events.h"
#include "nft/netlink.h"
#include "ruleset/model.h"

namespace ivozfw::nft::detail {

using namespace ivozfw::ruleset;

template <auto Fn>
struct FnDeleter {
    template <class T>
    void operator()(T* p) const { Fn(p); }
};
using TablePtr = std::unique_ptr<nftnl_table, FnDeleter<nftnl_table_free>>;
using ChainPtr = std::unique_ptr<nftnl_chain, FnDeleter<nftnl_chain_free>>;
using RulePtr = std::unique_ptr<nftnl_rule, FnDeleter<nftnl_rule_free>>;
using ExprPtr = std::unique_ptr<nftnl_expr, FnDeleter<nftnl_expr_free>>;
using SetPtr = std::unique_ptr<nftnl_set, FnDeleter<nftnl_set_free>>;
using ElemPtr = std::unique_ptr<nftnl_set_elem, FnDeleter<nftnl_set_elem_free>>;
using ObjPtr = std::unique_ptr<nftnl_obj, FnDeleter<nftnl_obj_free>>;
using GenPtr = std::unique_ptr<nftnl_gen, FnDeleter<nftnl_gen_free>>;
using BatchPtr = std::unique_ptr<nftnl_batch, FnDeleter<nftnl_batch_free>>;
using UdataPtr = std::unique_ptr<nftnl_udata_buf, FnDeleter<nftnl_udata_buf_free>>;
using ElemIterPtr =
    std::unique_ptr<nftnl_set_elems_iter, FnDeleter<nftnl_set_elems_iter_destroy>>;
using ExprIterPtr = std::unique_ptr<nftnl_expr_iter, FnDeleter<nftnl_expr_iter_destroy>>;

/// Allocation that never returns null (libnftnl only fails on ENOMEM).
template <class P, class T>
P must(T* p) {
    if (!p) throw std::bad_alloc();
    return P(p);
}

// ---- linearize.cc ----
/// Append the kernel expressions of `rule.stmts` to `r`, exactly as nft 1.0.6 would for
/// the equivalent text. `t` tells which sets are interval sets (byteorder conversions).
void linearize(nftnl_rule* r, const Rule& rule, const Table& t);

// ---- annotate.cc ----
/// Canonical text of the expression list of `r` (one "[ ... ]" line per expression).
std::string canonical_exprs(nftnl_rule* r);
/// nftnl rule userdata with a comment (type NFTNL_UDATA_RULE_COMMENT).
void set_rule_comment(nftnl_rule* r, const std::string& comment);
/// The comment of type `type` (NFTNL_UDATA_*_COMMENT) in a userdata blob; "" when none.
std::string udata_comment(const void* data, uint32_t len, uint8_t type);
std::string rule_comment_of(const nftnl_rule* r);

// ---- sets.cc ----
/// A NEWSET-ready nftnl_set for `def` in table inet `table` (no elements).
SetPtr build_set(const Set& def, const std::string& table, uint32_t set_id);
/// An nftnl_set carrying only table/name/family, for element messages and dumps.
SetPtr set_handle(const std::string& table, const std::string& name);
/// The definition part of a dumped set (no elements).
Set parse_set(const nftnl_set* s);
uint32_t concat_key_len(const std::vector<KeyType>& key);

// ---- elements.cc ----
/// One element of an nftnl set list, as the kernel sees it.
struct WireElem {
    Key key, key_end;   // inline: no allocation per element read or sent
    bool interval_end = false;
    bool open_end = false;  // start of a range that runs to all-ones (no end element)
    /// Verdict, expiry, per-element timeout and comment (timeout and comment: non-interval
    /// sets only). Few elements have any: 64 bytes a wire element, not 176.
    std::shared_ptr<const ruleset::ElementExtras> extras;
    const ruleset::ElementExtras& x() const { return extras ? *extras : ruleset::ElementExtras::none(); }
};
/// Model elements -> kernel elements (interval encoding; see model.h).
std::vector<WireElem> encode_elements(const Set& def, const std::vector<Element>& els);
/// One model element -> its one or two kernel elements, appended to `out`.
void encode_element(const Set& def, const Element& e, std::vector<WireElem>& out);
/// Kernel elements (any order) -> sorted model elements.
std::vector<Element> decode_elements(const Set& def, std::vector<WireElem> wire);
/// Add the wire elements to an nftnl_set (for NEWSETELEM/DELSETELEM).
void add_to_nftnl(nftnl_set* s, const std::vector<WireElem>& wire, bool with_data);
/// Append the elements an nftnl_set collected from a dump message to `out`.
void read_from_nftnl(nftnl_set* s, std::vector<WireElem>& out);
/// Human form of an element: "192.0.2.0/24", "tcp . 22", "10.0.0.1-10.0.0.9".

// ---- socket.cc ----
/// Raised by the receive loop when a dump was interrupted by a commit (NLM_F_DUMP_INTR).
struct DumpInterrupted : std::exception {};

struct Socket {
    mnl_socket* nl = nullptr;
    uint32_t portid = 0;
    uint32_t seq = 0;
    /// Receive buffer, never zeroed: a page is touched only when a reply fills it (zeroing
    /// 1 MiB at every start was a tenth of a ban's time).
    struct RxBuf {
        static constexpr size_t kSize = 1 << 20;   // large dump chunks; acks are small
        std::unique_ptr<char[]> bytes = std::make_unique_for_overwrite<char[]>(kSize);
        char* data() { return bytes.get(); }
        size_t size() const { return kSize; }
    } rxbuf;

    /// A dump flagged NLM_F_DUMP_INTR (the generation moved during it) is read to its end
    /// and noted in dump_interrupted instead of thrown, when the caller can tell afterwards
    /// whether the moves concerned what it read (the event stream).
    bool tolerate_interrupts = false;
    bool dump_interrupted = false;

    Socket();
    ~Socket();
    uint32_t next_seq() { return ++seq; }
    void send(const void* buf, size_t len);
    /// Send one request and run `cb` for every data message of the reply until DONE or
    /// the ack. Kernel errors come back as KernelError(errno, what).
    void request(nlmsghdr* nlh, const std::function<void(const nlmsghdr*)>& cb,
                 const std::string& what);
    uint32_t genid();
    void set_buffers(size_t sndbuf, size_t rcvbuf);
};

// ---- commit.cc / acks.cc ----
/// What one batch message was about, to name kernel errors.
struct MsgInfo {
    std::string what;                         // "set admin_v4: add 3 elements (first ...)"
    const Set* set = nullptr;                 // element messages: definition and the
    const std::vector<Element>* els = nullptr;  // model elements, wire element k belongs
    std::vector<uint32_t> owner;              // to (*els)[owner[k]]
};
struct AckError {
    uint32_t seq = 0;
    int err = 0;                   // positive errno
    std::string extack;            // kernel's message, if any
    std::optional<uint32_t> offs;  // offset of the bad attribute in the request
};
/// Read acks after a batch until the reply to `sentinel_seq` (a GETGEN sent after the
/// batch: the kernel has queued every batch ack before it). Returns the errors.
std::vector<AckError> read_acks(Socket& s, uint32_t sentinel_seq, size_t* acked);
/// "set admin_v4: element 10.0.0.1: File exists (extack)".
std::string name_error(const AckError& e, const MsgInfo* info, const nlmsghdr* msg);

}  // namespace ivozfw::nft::detail

namespace ivozfw::nft {
struct Netlink::Impl {
    detail::Socket sock;
    /// Commits since follow(), by generation (events.h): which of them touched the table.
    std::unique_ptr<Events> events;
    std::map<uint32_t, Generation> seen;
    std::set<std::string> read_ignore;   // follow()'s: what a read may let change under it
    uint32_t followed_from = 0;          // the generation when follow() subscribed
    std::optional<uint32_t> lost_upto;   // events were lost up to here (the newest genid then)
};
}  // namespace ivozfw::nft
