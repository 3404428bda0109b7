// SPDX-License-Identifier: GPL-2.0-or-later
#include "cli/neighbours.h"

#include <fmt/format.h>

namespace ivozfw::cli {

std::vector<std::string> overriding_neighbours(nft::Kernel& k, const std::string& table) {
    std::vector<nft::BaseChain> chains;
    try {
        chains = k.base_chains();
    } catch (const std::exception& e) {
        return {fmt::format("the other tables' chains could not be listed ({})", e.what())};
    }
    std::vector<std::string> out;
    for (const auto& b : chains) {
        if (b.family == "inet" && b.table == table) continue;
        std::string where = fmt::format("table {} {} chain {} ({}, {}", b.family, b.table, b.chain, b.hook, b.type);
        // An accept elsewhere never overrides ivozfw: netfilter runs every base chain of a
        // hook and a drop in any of them is final. A drop elsewhere does override its accept.
        if ((b.hook == "prerouting" || b.hook == "input" || b.hook == "forward") && b.type == "filter" &&
            b.policy_drop)
            out.push_back(where + fmt::format(", policy drop): a {}packet ivozfw accepts is still dropped there "
                                              "unless that chain accepts it too: both tables decide",
                                              b.hook == "forward" ? "forwarded " : ""));
        else if (b.hook == "prerouting" && b.type == "nat")
            out.push_back(where + "): a port it DNATs to a container, VM or namespace is forwarded; ivozfw's "
                                  "forward chain judges it by the port it was sent to (explain --forwarded). A "
                                  "port it redirects to this host is judged by the port it is redirected to");
    }
    return out;
}

}  // namespace ivozfw::cli
