#include "app/adsctl/keys_command.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "cqrs/core/sha256.h"
#include "http/auth.h"

namespace adsd::app {

namespace {

namespace fs = std::filesystem;

struct KeysArgs {
  std::string file = "./data/api-keys.toml";
  std::string id, retailer;
  bool admin = false, unlimited = false;
  // Unset unless given: an explicit 0 is refused, not taken for "the default".
  std::optional<double> rate, burst;
};

// Loads the file (migrating a plaintext one, and saying so); a missing file is an empty one for
// `add` only.
std::optional<http::ApiKeys> LoadKeys(const KeysArgs& args, bool may_be_missing) {
  if (may_be_missing && !fs::exists(args.file)) return http::ApiKeys();
  auto keys = http::ApiKeys::Load(args.file);
  if (!keys.ok()) {
    fmt::print(stderr, "adsctl keys: {}\n", keys.status().ToString());
    return std::nullopt;
  }
  if (!keys->migration_note().empty()) fmt::print(stderr, "adsctl keys: {}\n", keys->migration_note());
  return std::move(*keys);
}

int Save(const http::ApiKeys& keys, const KeysArgs& args) {
  if (cqrs::Status st = keys.Save(args.file); !st.ok()) {
    fmt::print(stderr, "adsctl keys: {}\n", st.ToString());
    return 2;
  }
  return 0;
}

void PrintToken(std::string_view id, std::string_view token) {
  fmt::print("{}\n", token);
  std::fflush(stdout);  // the token first, for scripts that read its line
  fmt::print(stderr, "key {}: the token above is shown only now (the file keeps its hash); restart adsd to use it\n",
             id);
}

int Add(const KeysArgs& args) {
  if (args.admin == !args.retailer.empty()) {
    fmt::print(stderr, "adsctl keys add: give either --retailer NAME or --admin\n");
    return 2;
  }
  if (args.unlimited && (args.rate || args.burst)) {
    fmt::print(stderr, "adsctl keys add: --unlimited takes no --rate or --burst\n");
    return 2;
  }
  if ((args.rate && !(*args.rate > 0)) || (args.burst && !(*args.burst >= 1))) {
    fmt::print(stderr, "adsctl keys add: --rate must be > 0 and --burst at least 1\n");
    return 2;
  }
  auto keys = LoadKeys(args, /*may_be_missing=*/true);
  if (!keys) return 2;
  http::Principal p;
  p.admin = args.admin;
  p.retailer = args.retailer;
  std::optional<http::RateLimit> limit;
  if (args.unlimited) limit = http::kUnlimited;
  if (args.rate || args.burst) {
    const double rate = args.rate.value_or(http::kDefaultRetailerLimit.per_second);
    limit = http::RateLimit{rate, args.burst.value_or(std::max(1.0, 2 * rate))};
  }
  std::string id = args.id;
  if (id.empty()) {  // named after its retailer (or "admin"), made unique
    const std::string base = args.admin ? "admin" : args.retailer;
    id = base;
    for (int n = 2; std::any_of(keys->keys().begin(), keys->keys().end(), [&](const auto& k) { return k.id == id; });
         ++n) {
      id = base + "-" + std::to_string(n);
    }
  }
  auto token = keys->Add(id, p, limit);
  if (!token.ok()) {
    fmt::print(stderr, "adsctl keys add: {}\n", token.status().ToString());
    return 2;
  }
  if (int rc = Save(*keys, args); rc != 0) return rc;
  PrintToken(id, *token);
  return 0;
}

int List(const KeysArgs& args) {
  auto keys = LoadKeys(args, /*may_be_missing=*/false);
  if (!keys) return 2;
  fmt::print("{:<24} {:<20} {:>10} {:>8}  {}\n", "ID", "RETAILER/ROLE", "RATE/S", "BURST", "HASH");
  for (const auto& k : keys->keys()) {
    const std::string who = k.principal.admin ? "(admin)" : k.principal.retailer;
    const std::string rate = k.limit.unlimited() ? "unlimited" : fmt::format("{}", k.limit.per_second);
    const std::string burst = k.limit.unlimited() ? "-" : fmt::format("{}", k.limit.burst);
    // The hash's start only: enough to tell keys apart, not a secret either way.
    fmt::print("{:<24} {:<20} {:>10} {:>8}  sha256:{}…\n", k.id, who, rate, burst, cqrs::ToHex(k.hash).substr(0, 12));
  }
  return 0;
}

int Rotate(const KeysArgs& args) {
  auto keys = LoadKeys(args, /*may_be_missing=*/false);
  if (!keys) return 2;
  auto token = keys->Rotate(args.id);
  if (!token.ok()) {
    fmt::print(stderr, "adsctl keys rotate: {}\n", token.status().ToString());
    return 2;
  }
  if (int rc = Save(*keys, args); rc != 0) return rc;
  PrintToken(args.id, *token);
  return 0;
}

int Revoke(const KeysArgs& args) {
  auto keys = LoadKeys(args, /*may_be_missing=*/false);
  if (!keys) return 2;
  if (cqrs::Status st = keys->Revoke(args.id); !st.ok()) {
    fmt::print(stderr, "adsctl keys revoke: {}\n", st.ToString());
    return 2;
  }
  if (int rc = Save(*keys, args); rc != 0) return rc;
  fmt::print(stderr, "key {} revoked; restart adsd for it to take effect\n", args.id);
  return 0;
}

int Migrate(const KeysArgs& args) {
  auto keys = LoadKeys(args, /*may_be_missing=*/false);
  if (!keys) return 2;
  if (keys->migration_note().empty()) fmt::print(stderr, "{} already holds hashes only\n", args.file);
  return 0;
}

}  // namespace

void AddKeysCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<KeysArgs>();
  CLI::App* keys = app.add_subcommand("keys", "Manage the API-key file (it holds token hashes, never tokens)");
  keys->require_subcommand(1);
  auto file = [&](CLI::App* cmd) {
    cmd->add_option("--file", args->file, "the API-key file (adsd --api-keys)")->capture_default_str();
  };
  CLI::App* add = keys->add_subcommand("add", "Add a key; prints its new token once");
  file(add);
  add->add_option("--retailer", args->retailer, "the retailer the key acts for");
  add->add_flag("--admin", args->admin, "an admin key (admin routes; unlimited unless --rate)");
  add->add_option("--id", args->id, "the key's name (default: the retailer, or admin)");
  add->add_option("--rate", args->rate, "requests per second allowed over time (default 500 for a retailer)");
  add->add_option("--burst", args->burst, "requests allowed at once (default: twice the rate)");
  add->add_flag("--unlimited", args->unlimited, "no rate limit for this key");
  add->callback([args, &exit_code] { exit_code = Add(*args); });
  CLI::App* list = keys->add_subcommand("list", "List the keys (ids, retailers, limits; never tokens)");
  file(list);
  list->callback([args, &exit_code] { exit_code = List(*args); });
  CLI::App* rotate = keys->add_subcommand("rotate", "Replace a key's token; prints the new token once");
  file(rotate);
  rotate->add_option("--id", args->id, "the key")->required();
  rotate->callback([args, &exit_code] { exit_code = Rotate(*args); });
  CLI::App* revoke = keys->add_subcommand("revoke", "Remove a key");
  file(revoke);
  revoke->add_option("--id", args->id, "the key")->required();
  revoke->callback([args, &exit_code] { exit_code = Revoke(*args); });
  CLI::App* migrate = keys->add_subcommand("migrate", "Replace the plaintext tokens of an old file by their hashes");
  file(migrate);
  migrate->callback([args, &exit_code] { exit_code = Migrate(*args); });
}

}  // namespace adsd::app
