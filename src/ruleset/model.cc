// SPDX-License-Identifier: GPL-2.0-or-later
#include "ruleset/model.h"

namespace ivozfw::ruleset {

unsigned key_len(KeyType t) {
    switch (t) {
    case KeyType::ipv4_addr: return 4;
    case KeyType::ipv6_addr: return 16;
    case KeyType::inet_service: return 2;
    case KeyType::inet_proto:
    case KeyType::icmp_type:
    case KeyType::icmpv6_type: return 1;
    }
    return 0;
}

const char* key_name(KeyType t) {
    switch (t) {
    case KeyType::ipv4_addr: return "ipv4_addr";
    case KeyType::ipv6_addr: return "ipv6_addr";
    case KeyType::inet_proto: return "inet_proto";
    case KeyType::inet_service: return "inet_service";
    case KeyType::icmp_type: return "icmp_type";
    case KeyType::icmpv6_type: return "icmpv6_type";
    }
    return "?";
}

// nft's enum datatypes (include/datatype.h).
unsigned nft_type_id(KeyType t) {
    switch (t) {
    case KeyType::ipv4_addr: return 7;
    case KeyType::ipv6_addr: return 8;
    case KeyType::inet_proto: return 12;
    case KeyType::inet_service: return 13;
    case KeyType::icmp_type: return 14;
    case KeyType::icmpv6_type: return 29;
    }
    return 0;
}

namespace {
constexpr std::string_view kCommentPrefix = "ivozfw:";
}  // namespace

std::string rule_comment(const std::string& id) { return std::string(kCommentPrefix) + id; }

std::optional<std::string> rule_id_from_comment(const std::string& comment) {
    if (comment.size() <= kCommentPrefix.size() || !comment.starts_with(kCommentPrefix)) return std::nullopt;
    return comment.substr(kCommentPrefix.size());
}

}  // namespace ivozfw::ruleset
