// SPDX-License-Identifier: GPL-2.0-or-later
// What a table looks like after a Plan is committed: the kernel's semantics for the ops
// ivozfw sends, as a pure function. The lockout guard evaluates it (the table about to be
// committed, dynamic set contents included), the element cache records it, and the
// in-memory fake kernel of the unit tests is built on it.
#pragma once

#include <optional>
#include <stdexcept>

#include "plan/plan.h"

namespace ivozfw::plan {

/// An op the kernel would refuse (a missing object, an element that exists), with the errno
/// the kernel gives.
struct ApplyError : std::runtime_error {
    int err;
    ApplyError(int e, const std::string& what) : std::runtime_error(what), err(e) {}
};

/// What becomes of the sets an op fills with borrowed elements (a set created whole).
enum class Borrowed : uint8_t {
    copy,        // copied into the result
    left_empty,  // left out: the caller reads them from the desired table (no second copy)
};

/// `live` with `p` applied; `desired` supplies the definitions the ops name. nullopt when
/// the result has no table. Throws ApplyError where the kernel would refuse the batch.
std::optional<Table> apply(std::optional<Table> live, const Plan& p, const Table& desired,
                           Borrowed borrowed = Borrowed::copy);

}  // namespace ivozfw::plan
