#include "http/auth.h"

#include <gtest/gtest.h>

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
)", "keys.toml");
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

TEST(ApiKeys, BadFilesNameTheEntry) {
  auto msg = [](std::string_view toml) { return ApiKeys::Parse(toml, "k.toml").status().message(); };
  EXPECT_NE(msg("[[key]]\nretailer = \"a\"").find("key 1: token"), std::string::npos);
  EXPECT_NE(msg("[[key]]\ntoken = \"0123456789abcdef0\"\n").find("key 1: needs either"), std::string::npos);
  EXPECT_NE(msg("[[key]]\ntoken = \"0123456789abcdef0\"\nretailer=\"a\"\n[[key]]\ntoken = \"0123456789abcdef0\"\nrole=\"admin\"")
                .find("key 2: token is used twice"),
            std::string::npos);
  EXPECT_NE(msg("[[key]\n").find("k.toml:1"), std::string::npos);
  EXPECT_NE(msg("x = 1").find("needs [[key]]"), std::string::npos);
}

TEST(ApiKeys, DevelopmentFileIsCreatedAndLoadsBack) {
  cqrs::testing::TempDir dir;
  auto made = ApiKeys::CreateDevelopmentFile(dir / "keys.toml");
  ASSERT_TRUE(made.ok());
  ASSERT_EQ(made->keys().size(), 2u);
  auto loaded = ApiKeys::Load(dir / "keys.toml");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->keys()[0].token, made->keys()[0].token);
  EXPECT_EQ(loaded->keys()[0].principal.retailer, "demo");
  EXPECT_TRUE(loaded->keys()[1].principal.admin);
}

}  // namespace
}  // namespace adsd::http
