// SPDX-License-Identifier: GPL-2.0-or-later
// What the compiled policy does with a new flow, decided from the policy alone (no kernel):
// the lockout guard asks it before apply; `explain` will build on it.
#pragma once

#include <string>

#include "policy/policy.h"

namespace ivozfw::policy {

struct Reach {
    bool accepted = false;
    std::string why;   // "service ssh (tcp/22) from list admin", "no service on tcp/8000" ...
};

Reach reaches(const Policy& p, const net::Address& src, Proto proto, uint16_t port);

}  // namespace ivozfw::policy
