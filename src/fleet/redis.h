// SPDX-License-Identifier: GPL-2.0-or-later
// The platform's Redis, as bansync needs it: a command connection and a subscription, to
// the master the sentinels name (or to one server). `Redis` is the interface (unit tests
// use a fake); `open_redis` gives the real one (hiredis).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace ivozfw::fleet {

/// Redis unreachable, refused, or answered an error. The connections are dropped; the
/// caller reconnects (with backoff).
struct RedisError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct RedisCredentials {
    std::string user, password, sentinel_password;
    std::string key;   // the fleet's signing key (message.h)
};

/// `key = value` lines (key, password, user, sentinel_password), [sections] and # comments
/// ignored; the file must be owned by root and unreadable by others.
RedisCredentials read_redis_credentials(const std::string& path);

class Redis {
public:
    virtual ~Redis() = default;
    /// (Re)connect and subscribe to `channel` ("": the command connection only). Throws
    /// RedisError.
    virtual void connect(const std::string& channel) = 0;
    virtual bool connected() const = 0;
    virtual void disconnect() = 0;
    /// "192.0.2.201:6379 (sentinel mymaster)", for logs.
    virtual std::string where() const = 0;
    /// SET key value PX ttl_ms.
    virtual void set(const std::string& key, const std::string& value, uint64_t ttl_ms) = 0;
    virtual void del(const std::string& key) = 0;
    virtual void publish(const std::string& channel, const std::string& message) = 0;
    /// Values of every key matching `pattern` (SCAN + MGET; keys gone meanwhile skipped).
    virtual std::vector<std::string> values(const std::string& pattern) = 0;
    /// Messages on the subscription: waits up to timeout_ms for the first, then takes what
    /// has arrived. Throws RedisError when the connection is lost.
    virtual std::vector<std::string> receive(int timeout_ms) = 0;
    /// With sentinels: is the master still the one we talk to? (cheap; false on failover)
    virtual bool master_unchanged() = 0;
};

std::unique_ptr<Redis> open_redis(const policy::Fleet& f, const RedisCredentials& c);

}  // namespace ivozfw::fleet
