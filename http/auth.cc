#include "http/auth.h"

#include <toml++/toml.h>

#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "http/problem.h"

namespace adsd::http {

namespace {

// Compares without stopping at the first difference, so the time taken does not reveal how much
// of a guessed token was right. (Token lengths are not secret.)
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
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

}  // namespace

cqrs::Result<ApiKeys> ApiKeys::Parse(std::string_view text, std::string_view source) {
  toml::table t;
  try {  // toml++ reports syntax errors by exception: convert at this edge
    t = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream m;
    m << source << ":" << e.source().begin.line << ": " << e.description();
    return cqrs::InvalidArgument(m.str());
  }
  const toml::array* arr = t["key"].as_array();
  if (arr == nullptr) return cqrs::InvalidArgument(std::string(source) + ": needs [[key]] entries");
  ApiKeys keys;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const std::string where = std::string(source) + ": key " + std::to_string(i + 1);
    const toml::table* e = arr->get(i)->as_table();
    if (e == nullptr) return cqrs::InvalidArgument(where + ": must be a table");
    auto token = (*e)["token"].value<std::string>();
    if (!token || token->size() < 16) return cqrs::InvalidArgument(where + ": token must be a string of 16+ characters");
    if (!seen.insert(*token).second) return cqrs::InvalidArgument(where + ": token is used twice");
    Key k;
    k.token = *token;
    auto retailer = (*e)["retailer"].value<std::string>();
    auto role = (*e)["role"].value<std::string>();
    if (role && *role == "admin" && !retailer) {
      k.principal.admin = true;
    } else if (retailer && !retailer->empty() && !role) {
      k.principal.retailer = *retailer;
    } else {
      return cqrs::InvalidArgument(where + ": needs either retailer = \"…\" or role = \"admin\"");
    }
    keys.keys_.push_back(std::move(k));
  }
  return keys;
}

cqrs::Result<ApiKeys> ApiKeys::Load(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return cqrs::NotFound("api key file " + file.string() + " cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), file.string());
}

cqrs::Result<ApiKeys> ApiKeys::CreateDevelopmentFile(const std::filesystem::path& file) {
  const std::string text = "# Development keys, made by adsd at its first start. Replace them in production.\n"
                           "[[key]]\ntoken = \"" + RandomToken("demo") + "\"\nretailer = \"demo\"\n\n"
                           "[[key]]\ntoken = \"" + RandomToken("admin") + "\"\nrole = \"admin\"\n";
  std::error_code ec;
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
  std::ofstream out(file);
  out << text;
  out.close();
  if (!out) return cqrs::IoError("cannot write " + file.string());
  std::filesystem::permissions(file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
  return Parse(text, file.string());
}

std::optional<Principal> ApiKeys::Authenticate(const Request& request) const {
  const auto header = request.Header("Authorization");
  if (!header || header->size() < 7) return std::nullopt;
  std::string scheme(header->substr(0, 7));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "bearer ") return std::nullopt;
  const std::string_view token = header->substr(7);
  std::optional<Principal> found;
  for (const Key& k : keys_) {  // no early exit: the time taken does not depend on which key matched
    if (ConstantTimeEquals(k.token, token)) found = k.principal;
  }
  return found;
}

Response Unauthorized() {
  Response r = Problem(401, "unauthorized", "Unauthorized", "send Authorization: Bearer <token> with a valid API key");
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"adsd\"");
  return r;
}

}  // namespace adsd::http
