#include "http/auth.h"

#include <fcntl.h>
#include <strings.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "config/toml_parse.h"
#include "cqrs/core/sha256.h"
#include "http/problem.h"

namespace adsd::http {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kHashPrefix = "sha256:";

// Compares without stopping at the first difference. The inputs are hashes of high-entropy
// tokens, so even a leak would say little; it costs nothing to leak nothing.
bool ConstantTimeEquals(const std::array<std::uint8_t, 32>& a, const std::array<std::uint8_t, 32>& b) {
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string RandomToken(std::string_view prefix) {
  std::random_device rd;  // /dev/urandom on Linux
  static constexpr char kAlphabet[] = "abcdefghijkmnopqrstuvwxyz23456789";
  std::string t(prefix);
  t += '-';
  for (int i = 0; i < 32; ++i) t += kAlphabet[rd() % (sizeof kAlphabet - 1)];
  return t;
}

std::optional<std::array<std::uint8_t, 32>> ParseHash(std::string_view text) {
  if (!text.starts_with(kHashPrefix) || text.size() != kHashPrefix.size() + 64) return std::nullopt;
  std::array<std::uint8_t, 32> out{};
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = nibble(text[kHashPrefix.size() + 2 * i]), lo = nibble(text[kHashPrefix.size() + 2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return out;
}

std::string TomlString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string FormatNumber(double v) {
  std::ostringstream s;
  s << v;
  std::string t = s.str();
  if (t.find_first_of(".e") == std::string::npos) t += ".0";  // a TOML float, as written
  return t;
}

// Writes `text` to `file` durably and atomically, readable by the owner only.
cqrs::Status WriteFileAtomically(const fs::path& file, std::string_view text) {
  // Named per process: processes that start together on one old file all migrate it, each
  // renaming its own identical copy into place.
  const fs::path tmp = file.string() + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return cqrs::ErrnoError("open " + tmp.string(), errno);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return cqrs::ErrnoError("write " + tmp.string(), err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return cqrs::ErrnoError("fsync " + tmp.string(), err);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), file.c_str()) != 0) return cqrs::ErrnoError("rename " + tmp.string(), errno);
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return cqrs::Status::Ok();
}

}  // namespace

std::string ApiKeys::HashText(std::string_view token) {
  return std::string(kHashPrefix) + cqrs::ToHex(cqrs::Sha256(token));
}

namespace {

// Every field of a [[key]] entry is known and of its type: a misspelt or mistyped field
// (rate_per_sec = 10, unlimited = "true") would otherwise be ignored, and the key would get the
// default limit without a word.
cqrs::Status CheckKeyFields(const toml::table& e, const std::string& where) {
  for (const auto& [name, node] : e) {
    const std::string_view field = name.str();
    const bool known_string =
        field == "id" || field == "token" || field == "hash" || field == "retailer" || field == "role";
    const bool known_number = field == "rate_per_second" || field == "burst";
    if (!known_string && !known_number && field != "unlimited") {
      return cqrs::InvalidArgument(where + ": unknown field '" + std::string(field) +
                                   "' (known: id, hash, token, retailer, role, rate_per_second, burst, unlimited)");
    }
    const bool typed = known_string   ? node.is_string()
                       : known_number ? (node.is_integer() || node.is_floating_point())
                                      : node.is_boolean();
    if (!typed) {
      return cqrs::InvalidArgument(where + ": " + std::string(field) + " must be " +
                                   (known_string   ? "a string"
                                    : known_number ? "a number"
                                                   : "true or false"));
    }
  }
  return cqrs::Status::Ok();
}

// The key's secret: its hash, or (in an old file) its token, hashed here; `plaintext` is set then.
cqrs::Status ParseKeySecret(const toml::table& e, const std::string& where, ApiKeys::Key& k, bool& plaintext) {
  auto token = e["token"].value<std::string>();
  auto hash = e["hash"].value<std::string>();
  if (token && !hash) {
    if (token->size() < 16) return cqrs::InvalidArgument(where + ": token must be a string of 16+ characters");
    k.hash = cqrs::Sha256(*token);
    plaintext = true;
  } else if (hash && !token) {
    auto parsed = ParseHash(*hash);
    if (!parsed) return cqrs::InvalidArgument(where + ": hash must be \"sha256:\" and 64 lower-case hex digits");
    k.hash = *parsed;
  } else {
    return cqrs::InvalidArgument(where +
                                 ": token or hash: needs hash = \"sha256:…\" (or, in an old file, "
                                 "token = \"…\" of 16+ characters), not both");
  }
  return cqrs::Status::Ok();
}

// The key's rate limit: unlimited, the one given, or the default for its principal.
cqrs::Status ParseKeyLimit(const toml::table& e, const std::string& where, ApiKeys::Key& k) {
  const auto unlimited = e["unlimited"].value<bool>();
  const auto rate = e["rate_per_second"].value<double>();
  const auto burst = e["burst"].value<double>();
  if (unlimited && *unlimited) {
    if (rate || burst) return cqrs::InvalidArgument(where + ": unlimited = true takes no rate_per_second or burst");
    k.limit = kUnlimited;
    k.explicit_limit = true;
  } else if (rate || burst) {
    k.limit.per_second = rate.value_or(kDefaultRetailerLimit.per_second);
    k.limit.burst = burst.value_or(std::max(1.0, 2 * k.limit.per_second));
    if (!(k.limit.per_second > 0) || !(k.limit.per_second <= 1e9)) {
      return cqrs::InvalidArgument(where + ": rate_per_second must be > 0 (or unlimited = true)");
    }
    if (!(k.limit.burst >= 1) || !(k.limit.burst <= 1e9)) {
      return cqrs::InvalidArgument(where + ": burst must be at least 1");
    }
    k.explicit_limit = true;
  } else {
    k.limit = k.principal.admin ? kUnlimited : kDefaultRetailerLimit;
  }
  return cqrs::Status::Ok();
}

// One [[key]] entry.
cqrs::Result<ApiKeys::Key> ParseKey(const toml::table& e, const std::string& where, bool& plaintext) {
  RETURN_IF_ERROR(CheckKeyFields(e, where));
  ApiKeys::Key k;
  RETURN_IF_ERROR(ParseKeySecret(e, where, k, plaintext));
  auto retailer = e["retailer"].value<std::string>();
  auto role = e["role"].value<std::string>();
  if (role && *role == "admin" && !retailer) {
    k.principal.admin = true;
  } else if (retailer && !retailer->empty() && !role) {
    k.principal.retailer = *retailer;
  } else {
    return cqrs::InvalidArgument(where + ": needs either retailer = \"…\" or role = \"admin\"");
  }
  k.id = e["id"].value<std::string>().value_or("");
  RETURN_IF_ERROR(ParseKeyLimit(e, where, k));
  return k;
}

// Ids are unique; keys without one (older files) are named after their retailer (or "admin"),
// made unique.
cqrs::Status NameKeys(std::vector<ApiKeys::Key>& keys, std::string_view source) {
  std::set<std::string> ids;
  for (const ApiKeys::Key& k : keys) {
    if (!k.id.empty() && !ids.insert(k.id).second) {
      return cqrs::InvalidArgument(std::string(source) + ": id \"" + k.id + "\" is used twice");
    }
  }
  for (ApiKeys::Key& k : keys) {
    if (!k.id.empty()) continue;
    const std::string base = k.principal.admin ? "admin" : k.principal.retailer;
    k.id = base;
    for (int n = 2; !ids.insert(k.id).second; ++n) k.id = base + "-" + std::to_string(n);
  }
  return cqrs::Status::Ok();
}

}  // namespace

cqrs::Result<ApiKeys> ApiKeys::Parse(std::string_view text, std::string_view source) {
  ASSIGN_OR_RETURN(toml::table t, config::ParseToml(text, source));
  const toml::array* arr = t["key"].as_array();
  if (arr == nullptr) return cqrs::InvalidArgument(std::string(source) + ": needs [[key]] entries");
  ApiKeys keys;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const std::string where = std::string(source) + ": key " + std::to_string(i + 1);
    const toml::table* e = arr->get(i)->as_table();
    if (e == nullptr) return cqrs::InvalidArgument(where + ": must be a table");
    ASSIGN_OR_RETURN(Key k, ParseKey(*e, where, keys.plaintext_));
    keys.keys_.push_back(std::move(k));
  }
  RETURN_IF_ERROR(NameKeys(keys.keys_, source));
  RETURN_IF_ERROR(keys.Check(source));
  keys.ResetLimiter();
  return keys;
}

cqrs::Status ApiKeys::Check(std::string_view source) const {
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (keys_[i].hash == keys_[j].hash) {
        return cqrs::InvalidArgument(std::string(source) + ": key " + std::to_string(i + 1) + ": token is used twice");
      }
    }
  }
  return cqrs::Status::Ok();
}

void ApiKeys::ResetLimiter() {
  std::vector<RateLimit> limits;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    keys_[i].principal.key = i;
    limits.push_back(keys_[i].limit);
  }
  limiter_ = std::make_shared<RateLimiter>(limits);
}

cqrs::Result<ApiKeys> ApiKeys::Load(const fs::path& file) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) return cqrs::InvalidArgument("api key file " + file.string() + " is a directory");
  std::ifstream in(file);
  if (!in) {
    return cqrs::NotFound("api key file " + file.string() + " cannot be read: " + std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  ASSIGN_OR_RETURN(ApiKeys keys, Parse(text, file.string()));
  if (!keys.plaintext_) return keys;
  // Migrate: keep the plaintext copy (owner-only) for the operator to check, then rewrite.
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const fs::path backup = file.string() + ".plaintext-" + std::to_string(now);
  cqrs::Status st = WriteFileAtomically(backup, text);
  if (st.ok()) st = keys.Save(file);
  if (!st.ok()) {
    return cqrs::InvalidArgument(file.string() + " holds plaintext tokens and cannot be rewritten with their hashes (" +
                                 st.message() + "): run `adsctl keys migrate --file " + file.string() +
                                 "` where the file is writable, then use the migrated file");
  }
  keys.plaintext_ = false;
  keys.migration_note_ = "migrated " + file.string() + ": its " + std::to_string(keys.keys_.size()) +
                         " plaintext tokens are replaced by their SHA-256 hashes; the plaintext copy is " +
                         backup.string() + " (owner-only): delete it once the new file is checked";
  return keys;
}

cqrs::Status ApiKeys::Save(const fs::path& file) const {
  std::string text =
      "# adsd API keys: SHA-256 hashes of the tokens, never the tokens.\n"
      "# Manage with adsctl keys add|list|revoke|rotate (a new token is printed once).\n";
  for (const Key& k : keys_) {
    text += "\n[[key]]\nid = " + TomlString(k.id) +
            "\nhash = " + TomlString(std::string(kHashPrefix) + cqrs::ToHex(k.hash)) + "\n";
    text += k.principal.admin ? "role = \"admin\"\n" : "retailer = " + TomlString(k.principal.retailer) + "\n";
    if (k.explicit_limit && k.limit.unlimited()) text += "unlimited = true\n";
    if (k.explicit_limit && !k.limit.unlimited()) {
      text +=
          "rate_per_second = " + FormatNumber(k.limit.per_second) + "\nburst = " + FormatNumber(k.limit.burst) + "\n";
    }
  }
  if (file.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
  }
  return WriteFileAtomically(file, text);
}

cqrs::Result<std::string> ApiKeys::Add(std::string id, Principal principal, std::optional<RateLimit> limit) {
  if (id.empty()) return cqrs::InvalidArgument("id: must not be empty");
  for (const Key& k : keys_) {
    if (k.id == id) return cqrs::AlreadyExists("a key with id \"" + id + "\" exists (rotate it, or pick another id)");
  }
  if (!principal.admin && principal.retailer.empty())
    return cqrs::InvalidArgument("a key needs a retailer or the admin role");
  Key k;
  k.id = std::move(id);
  k.token = RandomToken(principal.admin ? "admin" : principal.retailer.substr(0, 16));
  k.hash = cqrs::Sha256(k.token);
  k.principal = std::move(principal);
  k.explicit_limit = limit.has_value();
  k.limit = limit ? *limit : (k.principal.admin ? kUnlimited : kDefaultRetailerLimit);
  std::string token = k.token;
  keys_.push_back(std::move(k));
  ResetLimiter();
  return token;
}

cqrs::Result<std::string> ApiKeys::Rotate(std::string_view id) {
  for (Key& k : keys_) {
    if (k.id != id) continue;
    k.token = RandomToken(k.principal.admin ? "admin" : k.principal.retailer.substr(0, 16));
    k.hash = cqrs::Sha256(k.token);
    ResetLimiter();
    return k.token;
  }
  return cqrs::NotFound("no key with id \"" + std::string(id) + "\"");
}

cqrs::Status ApiKeys::Revoke(std::string_view id) {
  const auto before = keys_.size();
  std::erase_if(keys_, [&](const Key& k) { return k.id == id; });
  if (keys_.size() == before) return cqrs::NotFound("no key with id \"" + std::string(id) + "\"");
  ResetLimiter();
  return cqrs::Status::Ok();
}

cqrs::Result<ApiKeys> ApiKeys::CreateDevelopmentFile(const fs::path& file) {
  ApiKeys keys;
  Principal demo;
  demo.retailer = "demo";
  ASSIGN_OR_RETURN(std::string demo_token, keys.Add("demo", demo, std::nullopt));
  Principal admin;
  admin.admin = true;
  ASSIGN_OR_RETURN(std::string admin_token, keys.Add("admin", admin, std::nullopt));
  RETURN_IF_ERROR(keys.Save(file));
  return keys;
}

std::optional<Principal> ApiKeys::Authenticate(const Request& request) const {
  const auto header = request.Header("Authorization");
  if (!header || header->size() < 7) return std::nullopt;
  std::string scheme(header->substr(0, 7));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "bearer ") return std::nullopt;
  const auto presented = cqrs::Sha256(header->substr(7));
  std::optional<Principal> found;
  for (const Key& k : keys_) {  // no early exit: the time taken does not depend on which key matched
    if (ConstantTimeEquals(k.hash, presented)) found = k.principal;
  }
  return found;
}

RateLimiter::Decision ApiKeys::Admit(const Principal& principal) const {
  if (!limiter_) return {};
  return limiter_->Admit(principal.key);
}

Response Unauthorized(const Request& request) {
  Response r = Problem(401, "unauthorized", "Unauthorized", "send Authorization: Bearer <token> with a valid API key");
  const auto header = request.Header("Authorization").value_or("");
  const bool bearer = header.size() > 7 && strncasecmp(header.data(), "bearer ", 7) == 0;
  r.headers.emplace_back("WWW-Authenticate",
                         bearer ? "Bearer realm=\"adsd\", error=\"invalid_token\"" : "Bearer realm=\"adsd\"");
  return r;
}

}  // namespace adsd::http
