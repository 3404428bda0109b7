// SPDX-License-Identifier: GPL-2.0-or-later
// ivozfw-hooked: a TEST-ONLY build of ivozfw (never installed) whose kernel is the real
// netlink one wrapped with two faults, so kernel tests can prove what unit tests with the
// fake cannot: that the real kernel refuses a whole batch, and that a lost generation race
// is retried. The production binary has no such hooks.
//   IVOZFW_INJECT_FAILURE=1       append to every batch one message the kernel refuses
//   IVOZFW_TEST_RACE=CMD          run CMD before the first commit (lose the race once)
//   IVOZFW_TEST_RACE_ALWAYS=1     ... before every commit
//   IVOZFW_TEST_DEADLINE_MS=N     give up retrying after N ms (default: the product's)
//   IVOZFW_TEST_LOSE_ACKS=1       commit for real, then fail as if the acks were lost: the
//                                 outcome is unknown to the command (Changed::unknown)
//   IVOZFW_TEST_PAUSE=WHEN:FILE   at the first non-empty commit, WHEN = before (nothing sent) or
//                                 after (the kernel took the batch, nothing recorded yet):
//                                 create FILE and sleep, so a test kills the process right there
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <thread>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "cli/run.h"

using namespace ivozfw;

namespace {

class Hooked final : public nft::Kernel {
public:
    uint32_t genid() override { return real_.genid(); }
    std::optional<ruleset::Table> read_table(const std::string& n, uint32_t* g, nft::ElementCache* c) override {
        return real_.read_table(n, g, c);
    }
    std::optional<ruleset::Table> read_sets(const std::string& n, const std::set<std::string>& s, uint32_t* g,
                                            nft::ElementCache* c) override {
        return real_.read_sets(n, s, g, c);
    }
    uint64_t netns_cookie() override { return real_.netns_cookie(); }
    std::vector<std::string> nat_chains() override { return real_.nat_chains(); }
    std::vector<nft::BaseChain> base_chains() override { return real_.base_chains(); }
    bool follow(const std::string& n, const std::set<std::string>& i) override { return real_.follow(n, i); }
    std::optional<uint32_t> untouched_since(uint32_t s, const std::set<std::string>& i) override {
        return real_.untouched_since(s, i);
    }
    std::optional<uint32_t> followed_from() override { return real_.followed_from(); }
    std::string committers() override { return real_.committers(); }
    nft::CommitStats commit(const plan::Plan& p, const ruleset::Table& d, uint32_t genid, bool check_only) override {
        std::string pause = std::getenv("IVOZFW_TEST_PAUSE") ? std::getenv("IVOZFW_TEST_PAUSE") : "";
        bool real = !check_only && !p.empty();
        if (real && pause.starts_with("before:")) hold(pause.substr(7));
        auto stats = commit_hooked(p, d, genid, check_only);
        if (real && pause.starts_with("after:")) hold(pause.substr(6));
        return stats;
    }

private:
    static void hold(const std::string& file) {
        if (FILE* f = std::fopen(file.c_str(), "w")) std::fclose(f);
        std::this_thread::sleep_for(std::chrono::seconds(60));
    }
    nft::CommitStats commit_hooked(const plan::Plan& p, const ruleset::Table& d, uint32_t genid, bool check_only) {
        const char* race = std::getenv("IVOZFW_TEST_RACE");
        if (race && (commits_++ == 0 || std::getenv("IVOZFW_TEST_RACE_ALWAYS")))
            if (std::system(race) != 0) throw std::runtime_error("IVOZFW_TEST_RACE command failed");
        if (std::getenv("IVOZFW_TEST_LOSE_ACKS") && !check_only) {
            real_.commit(p, d, genid, check_only);
            throw nft::KernelError(ENOBUFS, "batch: acks were lost (injected)", nft::Changed::unknown);
        }
        if (!std::getenv("IVOZFW_INJECT_FAILURE")) return real_.commit(p, d, genid, check_only);
        plan::Plan bad = p;
        bad.ops.push_back(plan::Op{plan::Op::delete_set, "ivozfw-injected-failure", {}, {}, 0, "injected"});
        return real_.commit(bad, d, genid, check_only);
    }

private:
    nft::Netlink real_;
    int commits_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    // The rollback watcher is this binary exec'd again: the faults are the applying
    // command's, not its watcher's.
    for (int i = 1; i < argc; ++i)
        if (std::string(argv[i]) == "rollback-watch") unsetenv("IVOZFW_TEST_LOSE_ACKS");
    cli::Options o;
    o.open_kernel = [] { return std::make_unique<Hooked>(); };
    if (const char* ms = std::getenv("IVOZFW_TEST_DEADLINE_MS")) o.retry_deadline_ms = std::atoi(ms);
    return cli::run(argc, argv, o);
}
