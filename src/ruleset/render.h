// SPDX-License-Identifier: GPL-2.0-or-later
// Table -> nft syntax: `ivozfw export` and the human half of `ivozfw diff`.
#pragma once

#include <string>

#include "ruleset/model.h"

namespace ivozfw::ruleset {

/// One statement / one rule in nft syntax (rule: statements + its comment).
std::string render_stmt(const Stmt& s);
std::string render_rule(const Rule& r);
/// The canonical kernel-expression text of a rule on one line (for rules nobody can
/// render in nft syntax: hand edits read back from the kernel).
std::string one_line(const std::string& exprs);
/// A set's declaration line ("type ipv4_addr; flags interval;") without elements.
std::string render_set_head(const Set& s);
/// "base chain: type filter hook input priority filter; policy drop;" or "".
std::string render_chain_head(const Chain& c);

/// A whole script for `nft -f`: replaces the table atomically (`table x; delete table x;
/// table x {...}`), as nft itself would load it.
std::string render_script(const Table& t);

}  // namespace ivozfw::ruleset
