// Standard Webhooks (standardwebhooks.com) signing: secrets and signatures.
//
// A secret is "whsec_" + base64 of 24 random bytes; the key is those bytes (base64-decoded, the
// prefix removed). A message's signature is
//   webhook-signature: v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "cqrs/core/status.h"

namespace adsd::ads::notify {

inline constexpr std::string_view kSecretPrefix = "whsec_";

// A fresh secret from OpenSSL's CSPRNG.
cqrs::Result<std::string> NewWebhookSecret();

// "v1,<base64>" for `secret` ("whsec_…"); an error when the secret is not one.
cqrs::Result<std::string> SignWebhook(std::string_view secret, std::string_view id, std::string_view timestamp,
                                      std::string_view body);

std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace adsd::ads::notify
