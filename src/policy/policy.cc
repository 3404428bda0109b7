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

/// Builds the document from nlohmann's SAX events, as its own DOM parser does, plus:
/// - duplicate keys (nlohmann keeps the last silently) are errors, at the path of the
///   object holding them;
/// - the entries of each `lists.<name>` array go to a ListItems, not into the tree: a list
///   may hold 10^5 addresses and a JSON string value costs two allocations.
class Builder {
public:
    Builder(detail::Reader& r, detail::Parsed& out) : r_(r), out_(out) {}

    bool null() { return value(nullptr); }
    bool boolean(bool b) { return value(b); }
    bool number_integer(Json::number_integer_t v) { return value(v); }
    bool number_unsigned(Json::number_unsigned_t v) { return value(v); }
    bool number_float(Json::number_float_t v, const std::string&) { return value(v); }
    bool binary(Json::binary_t& b) { return value(std::move(b)); }
    bool string(std::string& s) {
        if (!frames_.empty() && frames_.back().list) {
            auto& l = *frames_.back().list;
            l.chars += s;
            l.ends.push_back(uint32_t(l.chars.size()));
            next();
            return true;
        }
        return value(std::move(s));
    }
    bool start_object(size_t) {
        frames_.push_back({place(Json::object()), false});
        return true;
    }
    bool start_array(size_t) {
        // root -> "lists" -> <name>: [...]
        bool list = frames_.size() == 2 && !frames_[0].array && frames_[0].key == "lists" && !frames_[1].array;
        Frame f{place(Json::array()), true};
        if (list) f.list = &(out_.lists[frames_.back().key] = detail::ListItems{});
        frames_.push_back(std::move(f));
        return true;
    }
    bool key(std::string& k) {
        Frame& f = frames_.back();
        if (!f.keys.insert(k).second) r_.error(path(), "duplicate key " + input::quote_short(k));
        f.key = k;
        return true;
    }
    bool end_object() { return end(); }
    bool end_array() { return end(); }
    template <class Exception>
    bool parse_error(size_t, const std::string&, const Exception& e) {
        throw e;   // parse_error or out_of_range (1e999), reported by load_text
    }

private:
    struct Frame {
        Json* value;
        bool array;
        std::set<std::string> keys;
        std::string key;                      // the member being parsed
        size_t index = 0;                     // the element being parsed
        detail::ListItems* list = nullptr;    // a list's entries go here
    };

    /// Where a new value goes: the root, the member being parsed, the end of the array, or
    /// a list's entries when it is not a string.
    Json* place(Json v) {
        if (frames_.empty()) return &(out_.root = std::move(v));
        Frame& f = frames_.back();
        if (f.list) {
            f.list->ends.push_back(uint32_t(f.list->chars.size()));
            return &(f.list->others[f.index] = std::move(v));
        }
        if (f.array) {
            f.value->push_back(std::move(v));
            return &f.value->back();
        }
        return &((*f.value)[f.key] = std::move(v));
    }
    bool value(Json v) {
        place(std::move(v));
        next();
        return true;
    }
    bool end() {
        frames_.pop_back();
        next();
        return true;
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
    detail::Parsed& out_;
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
    else if ((st.st_mode & S_IWGRP) && st.st_gid != 0)
        // Whoever is in that group could rewrite the firewall: root's group only.
        err = fmt::format("is writable by group {}; refusing to load (chmod g-w, or chgrp root)", st.st_gid);
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
    detail::Parsed doc;
    try {
        Builder b(r, doc);
        Json::sax_parse(text, &b, nlohmann::json::input_format_t::json, /*strict=*/true, /*ignore_comments=*/true);
    } catch (const nlohmann::json::parse_error& e) {
        r.errors.push_back({Diagnostic::Level::error, position(text, origin, e.byte), syntax_message(e)});
        throw LoadError(std::move(r.errors));
    } catch (const nlohmann::json::exception& e) {   // out_of_range: a number like 1e999
        r.errors.push_back({Diagnostic::Level::error, origin, syntax_message(e)});
        throw LoadError(std::move(r.errors));
    }
    Policy p = detail::build(doc, r);
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
