// Bearer-token authentication and per-key rate limits, from the TOML API-key file.
//
// The file holds SHA-256 hashes of the tokens, never the tokens:
//
//   [[key]]                                 [[key]]
//   id = "acme"                             id = "ops"
//   hash = "sha256:9f86d08…"                hash = "sha256:60303ae…"
//   retailer = "acme"                       role = "admin"
//   rate_per_second = 100   # optional      # admins are unlimited unless a rate is given
//   burst = 200             # optional
//   # unlimited = true      # no rate limit for this key
//
// A token is 32 random characters (160 bits) after a prefix, so one SHA-256 is a sound hash for
// it (no salt or slow hash needed: there is nothing to guess). A token is shown once, when it is
// made (`adsctl keys add|rotate`, or the development file adsd writes on a first start).
//
// An older file with `token = "…"` entries is migrated by Load: the file is rewritten with
// hashes, the plaintext copy kept beside it as FILE.plaintext-<unix seconds> (mode 0600, to be
// deleted once the new file is checked), and migration_note() says so for the log.
//
// A retailer token sees only that retailer's ads; an admin token reaches the admin routes.
// Thread-safety: after loading, Authenticate and Admit may be called from any thread; the other
// methods are for tools and must not run concurrently with anything else.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cqrs/core/status.h"
#include "http/message.h"
#include "http/rate_limit.h"

namespace adsd::http {

struct Principal {
  std::string retailer;  // empty for admins
  bool admin = false;
  std::size_t key = std::numeric_limits<std::size_t>::max();  // index in ApiKeys::keys()
};

// Limits of a key whose entry names none.
inline constexpr RateLimit kDefaultRetailerLimit{500, 1000};
inline constexpr RateLimit kUnlimited{0, 0};

class ApiKeys {
 public:
  struct Key {
    std::string id;  // unique in the file; names the key for revoke and rotate
    std::array<std::uint8_t, 32> hash{};
    Principal principal;
    RateLimit limit;
    bool explicit_limit = false;  // the entry names its limit (written back as given)
    std::string token;            // the plaintext, only right after it was made (never loaded from a file)
  };

  // Loads `file`, migrating a plaintext one (see above).
  static cqrs::Result<ApiKeys> Load(const std::filesystem::path& file);
  // Parses key-file text. Plaintext `token` entries are accepted (and hashed) here; Load
  // migrates them.
  static cqrs::Result<ApiKeys> Parse(std::string_view toml, std::string_view source);
  // Writes a new key file with one retailer ("demo") and one admin key; their tokens are in
  // keys()[i].token, to be shown once.
  static cqrs::Result<ApiKeys> CreateDevelopmentFile(const std::filesystem::path& file);

  // Writes the file (hashes only) atomically: a temporary file, synced, renamed over, mode 0600.
  cqrs::Status Save(const std::filesystem::path& file) const;

  // Key management (adsctl keys): each returns the new token, to be shown once.
  cqrs::Result<std::string> Add(std::string id, Principal principal, std::optional<RateLimit> limit);
  cqrs::Result<std::string> Rotate(std::string_view id);
  cqrs::Status Revoke(std::string_view id);

  // The principal for the request's `Authorization: Bearer <token>`, or nullopt. Every key's
  // hash is compared, each in constant time, whichever matches.
  std::optional<Principal> Authenticate(const Request& request) const;
  // Takes one request from the principal's rate limit.
  RateLimiter::Decision Admit(const Principal& principal) const;

  const std::vector<Key>& keys() const { return keys_; }
  // Non-empty when Load migrated a plaintext file: what it did, for the log.
  const std::string& migration_note() const { return migration_note_; }

  // "sha256:<64 hex>" of a token.
  static std::string HashText(std::string_view token);

 private:
  cqrs::Status Check(std::string_view source) const;
  void ResetLimiter();

  std::vector<Key> keys_;
  bool plaintext_ = false;  // parsed from `token` entries
  std::string migration_note_;
  // Shared by copies of this ApiKeys (it is returned and moved by value): one bucket per key.
  std::shared_ptr<RateLimiter> limiter_;
};

// The 401 answer to `request`, with its WWW-Authenticate header: `Bearer realm="adsd"`, and
// `error="invalid_token"` when the request did present a bearer token (RFC 6750 §3.1: a client
// that sent none, or used another scheme, gets no error code).
Response Unauthorized(const Request& request);

}  // namespace adsd::http
