#include "ads/notify/webhook_signature.h"

#include <gtest/gtest.h>

namespace adsd::ads::notify {
namespace {

// The example of the Standard Webhooks specification's reference libraries.
TEST(WebhookSignature, MatchesTheStandardsExample) {
  auto sig = SignWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
                         R"({"test": 2432232314})");
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  EXPECT_EQ(*sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(WebhookSignature, SecretsAreFreshAndUsable) {
  auto a = NewWebhookSecret();
  auto b = NewWebhookSecret();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(a->starts_with("whsec_"));
  EXPECT_EQ(Base64Decode(a->substr(6))->size(), 24u);
  EXPECT_TRUE(SignWebhook(*a, "msg_1", "1", "{}").ok());
  EXPECT_FALSE(SignWebhook("nope", "msg_1", "1", "{}").ok());
}

TEST(WebhookSignature, Base64RoundTrips) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto back = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, s);
  }
  EXPECT_FALSE(Base64Decode("abc").has_value());
}

}  // namespace
}  // namespace adsd::ads::notify
