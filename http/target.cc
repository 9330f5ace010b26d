#include "http/target.h"

#include <cctype>

#include "cqrs/core/hex.h"

namespace adsd::http {

namespace {

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Length of the well-formed UTF-8 sequence at the start of `s`, 0 if there is none.
std::size_t Utf8SequenceLength(std::string_view s) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < n || b(1) < lo || b(1) > hi) return 0;
  for (std::size_t i = 2; i < n; ++i) {
    if (b(i) < 0x80 || b(i) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int h = cqrs::HexDigitValue(in[i + 1]), l = cqrs::HexDigitValue(in[i + 2]);
      if (h < 0 || l < 0) return std::nullopt;
      out += static_cast<char>(h << 4 | l);
      i += 2;
    } else {
      out += (plus_is_space && c == '+') ? ' ' : c;
    }
  }
  return out;
}

bool ParseTarget(std::string_view target, Request& req) {
  // Absolute form: drop "scheme://authority"; what follows is the origin form.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (!StartsWithNoCase(target, scheme)) continue;
    const std::string_view rest = target.substr(scheme.size());
    const auto end = rest.find_first_of("/?");
    if (end == 0) return false;  // no authority
    target = end == std::string_view::npos ? std::string_view("/") : rest.substr(end);
    if (target.front() == '?') return false;  // "http://host?x": no path to route
    break;
  }
  if (target.empty() || target.front() != '/') return false;
  // RFC 9112 §3.2: a fragment is never part of a request target (a client strips it).
  if (target.find('#') != std::string_view::npos) return false;
  const auto q = target.find('?');
  const std::string_view path = target.substr(0, q);
  if (!PercentDecode(path, false)) return false;  // a bad escape is a malformed target
  req.path = std::string(path);
  if (q == std::string_view::npos) return true;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto key = PercentDecode(pair.substr(0, eq), true);
    auto value = PercentDecode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!key || !value) return false;
    // `?limit=5&limit=500`: which one counts would be a guess; the server refuses it, naming it.
    if (!req.query.emplace(*key, *value).second) req.repeated_query.insert(*key);
  }
  return true;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    const bool ok = std::isalnum(u) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok || u >= 0x80) return false;
  }
  return true;
}

bool IsSafeFieldValue(std::string_view value) {
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7F) return false;
  }
  return value.empty() ||
         (value.front() != ' ' && value.front() != '\t' && value.back() != ' ' && value.back() != '\t');
}

bool IsValidUtf8(std::string_view s) {
  while (!s.empty()) {
    const std::size_t n = Utf8SequenceLength(s);
    if (n == 0) return false;
    s.remove_prefix(n);
  }
  return true;
}

namespace {

// `s` with U+FFFD in place of each byte that starts no valid UTF-8 sequence, and of each
// sequence `refused(first byte, length)` names.
template <typename Refused>
std::string WithReplacementCharacters(std::string_view s, Refused refused) {
  std::string out;
  out.reserve(s.size() + 8);
  while (!s.empty()) {
    const std::size_t n = Utf8SequenceLength(s);
    if (n == 0 || refused(static_cast<unsigned char>(s.front()), n)) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      s.remove_prefix(1);
      continue;
    }
    out.append(s.substr(0, n));
    s.remove_prefix(n);
  }
  return out;
}

}  // namespace

std::string ReplaceInvalidUtf8(std::string_view s) {
  if (IsValidUtf8(s)) return std::string(s);
  return WithReplacementCharacters(s, [](unsigned char, std::size_t) { return false; });
}

std::string PrintableUtf8(std::string_view s) {
  // C0 controls and DEL as well: they are bytes of valid UTF-8, but not text to show.
  return WithReplacementCharacters(s, [](unsigned char c, std::size_t n) { return n == 1 && (c < 0x20 || c == 0x7F); });
}

std::string AttachmentDisposition(std::string_view filename) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string ascii, encoded;
  for (char c : filename) {
    const auto u = static_cast<unsigned char>(c);
    const bool plain = std::isalnum(u) != 0 && u < 0x80;
    ascii += (plain || c == '.' || c == '-' || c == '_') ? c : '_';
  }
  for (char c : PrintableUtf8(filename)) {
    const auto u = static_cast<unsigned char>(c);
    // RFC 8187 attr-char: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
    if ((std::isalnum(u) != 0 && u < 0x80) || std::string_view("!#$&+-.^_`|~").find(c) != std::string_view::npos) {
      encoded += c;
    } else {
      encoded += '%';
      encoded += kHex[u >> 4];
      encoded += kHex[u & 15];
    }
  }
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
}

namespace {

// The opaque tag of an entity tag (RFC 9110 §8.8.3: [ "W/" ] DQUOTE *etagc DQUOTE) at the start of
// `v`, which it consumes; nullopt when `v` does not start with one. `weak` says whether it had W/.
std::optional<std::string_view> TakeOpaqueTag(std::string_view& v, bool& weak) {
  std::string_view rest = v;
  weak = rest.starts_with("W/");
  if (weak) rest.remove_prefix(2);
  if (rest.empty() || rest.front() != '"') return std::nullopt;
  const auto close = rest.find('"', 1);
  if (close == std::string_view::npos) return std::nullopt;
  for (char c : rest.substr(1, close - 1)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u == 0x7F) return std::nullopt;
  }
  v = rest.substr(close + 1);
  return rest.substr(0, close + 1);
}

// Whether a conditional field's value (`*` or a list of entity tags) names `etag`: compared
// weakly (RFC 9110 §8.8.3.2: W/ ignored on both sides) or strongly (both tags strong and equal).
bool ListNames(std::string_view value, std::string_view etag, bool strong) {
  value = TrimOws(value);
  if (value == "*") return true;
  bool own_weak = false;
  auto own = TakeOpaqueTag(etag, own_weak);
  if (!own) return false;
  while (true) {
    value = TrimOws(value);
    if (value.starts_with(',')) {  // empty list elements are allowed (RFC 9110 §5.6.1)
      value.remove_prefix(1);
      continue;
    }
    if (value.empty()) return false;
    bool weak = false;
    auto tag = TakeOpaqueTag(value, weak);
    if (!tag) return false;
    if (*tag == *own && !(strong && (weak || own_weak))) return true;
    value = TrimOws(value);
    if (!value.empty() && value.front() != ',') return false;
  }
}

}  // namespace

bool IfNoneMatchNames(std::string_view if_none_match, std::string_view etag) {
  return ListNames(if_none_match, etag, false);
}

bool IfMatchNames(std::string_view if_match, std::string_view etag) { return ListNames(if_match, etag, true); }

bool MediaTypeIs(std::string_view content_type, std::string_view media_type) {
  const std::string_view got = TrimOws(content_type.substr(0, content_type.find(';')));
  if (got.size() != media_type.size()) return false;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(got[i])) != std::tolower(static_cast<unsigned char>(media_type[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace adsd::http
