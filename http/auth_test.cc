#include "http/auth.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "cqrs/core/testing/temp_dir.h"

namespace adsd::http {
namespace {

Request WithAuth(std::string value) {
  Request r;
  r.headers.emplace_back("authorization", std::move(value));
  return r;
}

TEST(ApiKeys, RetailerAndAdminTokensAuthenticate) {
  auto keys = ApiKeys::Parse(R"(
[[key]]
token = "acme-0123456789abcdef"
retailer = "acme"
[[key]]
token = "ops-0123456789abcdef"
role = "admin"
)",
                             "keys.toml");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  auto acme = keys->Authenticate(WithAuth("Bearer acme-0123456789abcdef"));
  ASSERT_TRUE(acme);
  EXPECT_EQ(acme->retailer, "acme");
  EXPECT_FALSE(acme->admin);
  EXPECT_TRUE(keys->Authenticate(WithAuth("bearer ops-0123456789abcdef"))->admin);
  EXPECT_FALSE(keys->Authenticate(WithAuth("Bearer acme-0123456789abcdeX")));
  EXPECT_FALSE(keys->Authenticate(WithAuth("Bearer acme-0123456789abcde")));
  EXPECT_FALSE(keys->Authenticate(WithAuth("Basic acme-0123456789abcdef")));
  EXPECT_FALSE(keys->Authenticate(Request{}));
}

TEST(Unauthorized, SaysInvalidTokenOnlyWhenABearerTokenWasSent) {
  auto header = [](const Response& r) {
    for (const auto& [k, v] : r.headers) {
      if (k == "WWW-Authenticate") return v;
    }
    return std::string();
  };
  EXPECT_EQ(Unauthorized(Request{}).status, 401);
  EXPECT_EQ(header(Unauthorized(Request{})), "Bearer realm=\"adsd\"");
  EXPECT_EQ(header(Unauthorized(WithAuth("Basic YTpi"))), "Bearer realm=\"adsd\"") << "another scheme: no error";
  EXPECT_EQ(header(Unauthorized(WithAuth("bearer wrong"))), "Bearer realm=\"adsd\", error=\"invalid_token\"");
}

TEST(ApiKeys, BadFilesNameTheEntry) {
  auto msg = [](std::string_view toml) { return ApiKeys::Parse(toml, "k.toml").status().message(); };
  EXPECT_NE(msg("[[key]]\nretailer = \"a\"").find("key 1: token"), std::string::npos);
  EXPECT_NE(msg("[[key]]\ntoken = \"0123456789abcdef0\"\n").find("key 1: needs either"), std::string::npos);
  EXPECT_NE(msg("[[key]]\ntoken = \"0123456789abcdef0\"\nretailer=\"a\"\n[[key]]\ntoken = "
                "\"0123456789abcdef0\"\nrole=\"admin\"")
                .find("key 2: token is used twice"),
            std::string::npos);
  EXPECT_NE(msg("[[key]\n").find("k.toml:1"), std::string::npos);
  EXPECT_NE(msg("x = 1").find("needs [[key]]"), std::string::npos);
  // A misspelt or mistyped field is refused, named, not ignored (the key kept the default limit).
  const std::string base = "[[key]]\nhash = \"" + ApiKeys::HashText("0123456789abcdef0") + "\"\nretailer = \"a\"\n";
  EXPECT_NE(msg(base + "rate_per_sec = 10\n").find("key 1: unknown field 'rate_per_sec'"), std::string::npos)
      << msg(base + "rate_per_sec = 10\n");
  EXPECT_NE(msg(base + "rate_per_second = \"10\"\n").find("key 1: rate_per_second must be a number"),
            std::string::npos);
  EXPECT_NE(msg(base + "unlimited = \"true\"\n").find("key 1: unlimited must be true or false"), std::string::npos);
  EXPECT_NE(msg(base + "id = 7\n").find("key 1: id must be a string"), std::string::npos);
  EXPECT_TRUE(ApiKeys::Parse(base + "id = \"a\"\nrate_per_second = 10\nburst = 2.5\n", "k.toml").ok());
  EXPECT_TRUE(ApiKeys::Parse(base + "unlimited = false\n", "k.toml").ok());
}

TEST(ApiKeys, AnUnreadableFileOrADirectorySaysWhy) {
  cqrs::testing::TempDir dir;
  auto dir_status = ApiKeys::Load(dir.path()).status();
  EXPECT_NE(dir_status.message().find("is a directory"), std::string::npos) << dir_status.ToString();
  auto missing = ApiKeys::Load(dir.path() / "missing.toml").status();
  EXPECT_NE(missing.message().find("cannot be read: No such file or directory"), std::string::npos)
      << missing.ToString();
}

TEST(ApiKeys, DevelopmentFileIsCreatedAndLoadsBack) {
  cqrs::testing::TempDir dir;
  auto made = ApiKeys::CreateDevelopmentFile(dir / "keys.toml");
  ASSERT_TRUE(made.ok());
  ASSERT_EQ(made->keys().size(), 2u);
  auto loaded = ApiKeys::Load(dir / "keys.toml");
  ASSERT_TRUE(loaded.ok());
  // The file holds the token's hash, not the token: it loads back as the same key.
  EXPECT_EQ(loaded->keys()[0].hash, made->keys()[0].hash);
  EXPECT_EQ(loaded->keys()[0].principal.retailer, "demo");
  EXPECT_TRUE(loaded->keys()[1].principal.admin);
}

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ApiKeys, TheKeyFileHoldsHashesNeverTokens) {
  cqrs::testing::TempDir dir;
  auto made = ApiKeys::CreateDevelopmentFile(dir / "keys.toml");
  ASSERT_TRUE(made.ok());
  const std::string text = ReadFile(dir / "keys.toml");
  for (const auto& k : made->keys()) {
    ASSERT_GE(k.token.size(), 32u) << "the new token is handed back once";
    EXPECT_EQ(text.find(k.token), std::string::npos) << "the token must not be stored";
    EXPECT_NE(text.find(ApiKeys::HashText(k.token)), std::string::npos);
  }
  EXPECT_EQ(std::filesystem::status(dir / "keys.toml").permissions() & std::filesystem::perms::others_all,
            std::filesystem::perms::none);
  auto loaded = ApiKeys::Load(dir / "keys.toml");
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->keys()[0].token.empty());
  auto p = loaded->Authenticate(WithAuth("Bearer " + made->keys()[0].token));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->retailer, "demo");
  EXPECT_TRUE(loaded->Authenticate(WithAuth("Bearer " + made->keys()[1].token))->admin);
  EXPECT_FALSE(loaded->Authenticate(WithAuth("Bearer " + ApiKeys::HashText(made->keys()[0].token))))
      << "the stored hash is not a token";
}

TEST(ApiKeys, APlaintextFileIsMigratedWithABackupAndANote) {
  cqrs::testing::TempDir dir;
  const std::string plain =
      "[[key]]\ntoken = \"acme-0123456789abcdef\"\nretailer = \"acme\"\n"
      "[[key]]\ntoken = \"ops-0123456789abcdef\"\nrole = \"admin\"\n";
  {
    std::ofstream out(dir / "keys.toml");
    out << plain;
  }
  auto keys = ApiKeys::Load(dir / "keys.toml");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_NE(keys->migration_note().find("migrated"), std::string::npos);
  EXPECT_TRUE(keys->Authenticate(WithAuth("Bearer acme-0123456789abcdef")));
  const std::string text = ReadFile(dir / "keys.toml");
  EXPECT_EQ(text.find("acme-0123456789abcdef"), std::string::npos) << text;
  EXPECT_NE(text.find(ApiKeys::HashText("acme-0123456789abcdef")), std::string::npos);
  int backups = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    if (e.path().filename().string().starts_with("keys.toml.plaintext-")) {
      ++backups;
      EXPECT_EQ(ReadFile(e.path()), plain);
      EXPECT_NE(keys->migration_note().find(e.path().string()), std::string::npos);
    }
  }
  EXPECT_EQ(backups, 1);
  auto again = ApiKeys::Load(dir / "keys.toml");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->migration_note().empty()) << "a hashed file is left as it is";
  EXPECT_EQ(again->keys()[0].id, "acme");
  EXPECT_TRUE(again->Authenticate(WithAuth("Bearer ops-0123456789abcdef"))->admin);
}

TEST(ApiKeys, AddRotateRevokeHandBackNewTokensOnce) {
  cqrs::testing::TempDir dir;
  ApiKeys keys;
  Principal acme;
  acme.retailer = "acme";
  auto t1 = keys.Add("acme-main", acme, RateLimit{5, 10});
  ASSERT_TRUE(t1.ok());
  EXPECT_EQ(keys.Add("acme-main", acme, std::nullopt).status().code(), cqrs::StatusCode::kAlreadyExists);
  ASSERT_TRUE(keys.Save(dir / "k.toml").ok());
  auto loaded = ApiKeys::Load(dir / "k.toml");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->keys()[0].limit.per_second, 5);
  EXPECT_EQ(loaded->keys()[0].limit.burst, 10);
  ASSERT_TRUE(loaded->Authenticate(WithAuth("Bearer " + *t1)));
  auto t2 = loaded->Rotate("acme-main");
  ASSERT_TRUE(t2.ok());
  EXPECT_NE(*t2, *t1);
  EXPECT_FALSE(loaded->Authenticate(WithAuth("Bearer " + *t1))) << "the old token stops working";
  EXPECT_TRUE(loaded->Authenticate(WithAuth("Bearer " + *t2)));
  ASSERT_TRUE(loaded->Revoke("acme-main").ok());
  EXPECT_FALSE(loaded->Authenticate(WithAuth("Bearer " + *t2)));
  EXPECT_EQ(loaded->Revoke("acme-main").code(), cqrs::StatusCode::kNotFound);
}

TEST(ApiKeys, LimitsComeFromTheFileWithDefaults) {
  auto keys = ApiKeys::Parse(R"(
[[key]]
hash = "sha256:0000000000000000000000000000000000000000000000000000000000000001"
retailer = "a"
[[key]]
hash = "sha256:0000000000000000000000000000000000000000000000000000000000000002"
retailer = "b"
rate_per_second = 2
[[key]]
hash = "sha256:0000000000000000000000000000000000000000000000000000000000000003"
retailer = "c"
unlimited = true
[[key]]
hash = "sha256:0000000000000000000000000000000000000000000000000000000000000004"
role = "admin"
)",
                             "k.toml");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(keys->keys()[0].limit.per_second, kDefaultRetailerLimit.per_second);
  EXPECT_EQ(keys->keys()[1].limit.per_second, 2);
  EXPECT_EQ(keys->keys()[1].limit.burst, 4);
  EXPECT_TRUE(keys->keys()[2].limit.unlimited());
  EXPECT_TRUE(keys->keys()[3].limit.unlimited());
  auto bad = [](std::string_view extra) {
    return ApiKeys::Parse(
               "[[key]]\nhash = \"sha256:" + std::string(64, 'a') + "\"\nretailer = \"a\"\n" + std::string(extra),
               "k.toml")
        .status()
        .message();
  };
  EXPECT_NE(bad("rate_per_second = 0").find("rate_per_second"), std::string::npos);
  EXPECT_NE(bad("burst = 0.5").find("burst"), std::string::npos);
  EXPECT_NE(bad("unlimited = true\nburst = 3").find("unlimited"), std::string::npos);
  EXPECT_NE(ApiKeys::Parse("[[key]]\nhash = \"sha256:XYZ\"\nretailer = \"a\"\n", "k").status().message().find("hash"),
            std::string::npos);
}

}  // namespace
}  // namespace adsd::http
