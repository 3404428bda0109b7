// SPDX-License-Identifier: GPL-2.0-or-later
// Reading and parsing a policy: file checks, JSON syntax, duplicate keys. The meaning of
// the document is checked in validate.cc.
#include "policy/policy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <set>

#include "input/json_limits.h"
#include "input/quote.h"
#include "policy/reader.h"

namespace ivozfw::policy {

using detail::Json;

std::string Diagnostic::str() const {
    return where + (level == Level::error ? ": error: " : ": warning: ") + message;
}

namespace {

std::string join(const std::vector<Diagnostic>& d) {
    std::string out;
    for (const auto& x : d) out += (out.empty() ? "" : "\n") + x.str();
    return out;
}

/// nlohmann keeps the last of duplicate keys silently; this parser callback reports them
/// with the path of the object holding them.
class DuplicateKeys {
public:
    explicit DuplicateKeys(detail::Reader& r) : r_(r) {}

    bool operator()(int, nlohmann::json::parse_event_t event, Json& parsed) {
        using E = nlohmann::json::parse_event_t;
        switch (event) {
        case E::object_start: frames_.push_back({false, {}, {}, 0}); break;
        case E::array_start: frames_.push_back({true, {}, {}, 0}); break;
        case E::key: on_key(parsed.get<std::string>()); break;
        case E::object_end:
        case E::array_end: frames_.pop_back(); next(); break;
        case E::value: next(); break;
        }
        return true;
    }

private:
    struct Frame {
        bool array;
        std::set<std::string> keys;
        std::string key;  // the member being parsed
        size_t index;     // the element being parsed
    };

    void on_key(const std::string& key) {
        Frame& f = frames_.back();
        if (!f.keys.insert(key).second) r_.error(path(), "duplicate key " + input::quote_short(key));
        f.key = key;
    }
    /// A value is complete: an enclosing array moves to its next element.
    void next() {
        if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
    }
    /// Path of the innermost object or array.
    std::string path() const {
        std::string p;
        for (size_t i = 0; i + 1 < frames_.size(); ++i)
            p = frames_[i].array ? detail::index_path(p, frames_[i].index)
                                 : detail::child_path(p, frames_[i].key);
        return p;
    }

    detail::Reader& r_;
    std::vector<Frame> frames_;
};

/// "file:LINE:COL" for a parse error at 1-based byte `byte` (past the end at end of input).
std::string position(const std::string& text, const std::string& origin, size_t byte) {
    size_t offset = std::min(byte == 0 ? 0 : byte - 1, text.size());
    size_t line = 1, line_start = 0;
    for (size_t i = 0; i < offset; ++i)
        if (text[i] == '\n') ++line, line_start = i + 1;
    return origin + ":" + std::to_string(line) + ":" + std::to_string(offset - line_start + 1);
}

/// nlohmann's message without its "[json.exception...] parse error at line L, column C: "
/// (or "[json.exception.out_of_range.406] ").
std::string syntax_message(const nlohmann::json::exception& e) {
    std::string what = input::shorten_parse_error(e.what());
    size_t column = what.find("column ");
    size_t colon = column == what.npos ? what.npos : what.find(": ", column);
    if (colon != what.npos) return what.substr(colon + 2);
    size_t bracket = what.find("] ");
    return bracket == what.npos ? what : what.substr(bracket + 2);
}

std::string read_fd(int fd, std::string* err) {
    std::string text;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n == 0) return text;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            *err = std::string("cannot read: ") + std::strerror(errno);
            return {};
        }
        text.append(buf, size_t(n));
        if (text.size() > input::kMaxJsonBytes) {
            *err = fmt::format("is larger than {} MiB; refusing to load", input::kMaxJsonBytes >> 20);
            return {};
        }
    }
}

/// The file's contents, refusing one that anybody on the host could have rewritten.
std::string read_policy_file(const std::string& path) {
    auto fail = [&](std::string message) {
        throw LoadError({{Diagnostic::Level::error, path, std::move(message)}});
    };
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(std::string("cannot read: ") + std::strerror(errno));
    // fstat the open descriptor, so the mode checked is the mode of what is read.
    struct stat st;
    std::string err;
    if (fstat(fd, &st) != 0) err = std::string("cannot read: ") + std::strerror(errno);
    else if (st.st_mode & S_IWOTH) err = "is world-writable; refusing to load (chmod o-w)";
    std::string text = err.empty() ? read_fd(fd, &err) : std::string();
    ::close(fd);
    if (!err.empty()) fail(err);
    return text;
}

}  // namespace

LoadError::LoadError(std::vector<Diagnostic> d) : std::runtime_error(join(d)), diagnostics(std::move(d)) {}

Policy load_text(const std::string& text, const std::string& origin, std::vector<Diagnostic>* warnings) {
    detail::Reader r(origin);
    if (auto e = input::check_json_limits(text))
        throw LoadError({{Diagnostic::Level::error, fmt::format("{}:{}:{}", origin, e->line, e->column), e->message}});
    Json root;
    try {
        root = Json::parse(text, DuplicateKeys(r), /*allow_exceptions=*/true, /*ignore_comments=*/true);
    } catch (const nlohmann::json::parse_error& e) {
        r.errors.push_back({Diagnostic::Level::error, position(text, origin, e.byte), syntax_message(e)});
        throw LoadError(std::move(r.errors));
    } catch (const nlohmann::json::exception& e) {   // out_of_range: a number like 1e999
        r.errors.push_back({Diagnostic::Level::error, origin, syntax_message(e)});
        throw LoadError(std::move(r.errors));
    }
    Policy p = detail::build(root, r);
    p.path = origin;
    if (warnings) warnings->insert(warnings->end(), r.warnings.begin(), r.warnings.end());
    if (!r.errors.empty()) throw LoadError(std::move(r.errors));
    return p;
}

Policy load_file(const std::string& path, std::vector<Diagnostic>* warnings) {
    if (path == "-") {
        bool too_big = false;
        std::string text = input::read_bounded(std::cin, input::kMaxJsonBytes, &too_big);
        if (too_big)
            throw LoadError({{Diagnostic::Level::error, "-",
                              fmt::format("is larger than {} MiB; refusing to load", input::kMaxJsonBytes >> 20)}});
        return load_text(text, "-", warnings);
    }
    return load_text(read_policy_file(path), path, warnings);
}

}  // namespace ivozfw::policy
