// SPDX-License-Identifier: GPL-2.0-or-later
// Anti-flooding per source: compiled by the anti-flood work; the policy section is
// validated already.
#include "ruleset/features.h"

namespace ivozfw::ruleset {

void antiflood_objects(const policy::Policy&, Table&) {}
bool antiflood_guards(const policy::Policy&, const policy::Service&) { return false; }
void antiflood_rules(const policy::Policy&, const policy::Service&, std::vector<Rule>&) {}

}  // namespace ivozfw::ruleset
