// Bearer-token authentication from the TOML API-key file:
//
//   [[key]]                      [[key]]
//   token = "acme-7f3a…"         token = "ops-91c2…"
//   retailer = "acme"            role = "admin"
//
// A retailer token sees only that retailer's ads; an admin token reaches the admin routes.
// Tokens are compared in constant time. Thread-safe after loading (immutable).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cqrs/core/status.h"
#include "http/message.h"

namespace adsd::http {

struct Principal {
  std::string retailer;  // empty for admins
  bool admin = false;
};

class ApiKeys {
 public:
  static cqrs::Result<ApiKeys> Load(const std::filesystem::path& file);
  static cqrs::Result<ApiKeys> Parse(std::string_view toml, std::string_view source);
  // Writes a new key file with one retailer ("demo") and one admin key, random tokens; returns them.
  static cqrs::Result<ApiKeys> CreateDevelopmentFile(const std::filesystem::path& file);

  // The principal for the request's `Authorization: Bearer <token>`, or nullopt.
  std::optional<Principal> Authenticate(const Request& request) const;

  struct Key {
    std::string token;
    Principal principal;
  };
  const std::vector<Key>& keys() const { return keys_; }

 private:
  std::vector<Key> keys_;
};

// The 401 answer, with its WWW-Authenticate header.
Response Unauthorized();

}  // namespace adsd::http
