#include "ads/notify/webhook_signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace adsd::ads::notify {

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(3 * text.size() / 4, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  std::size_t len = static_cast<std::size_t>(n);
  if (!text.empty() && text.back() == '=') --len;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

cqrs::Result<std::string> NewWebhookSecret() {
  unsigned char key[24];
  if (RAND_bytes(key, sizeof key) != 1) return cqrs::Unavailable("the random number generator failed");
  return std::string(kSecretPrefix) + Base64Encode(std::string_view(reinterpret_cast<const char*>(key), sizeof key));
}

cqrs::Result<std::string> SignWebhook(std::string_view secret, std::string_view id, std::string_view timestamp,
                                      std::string_view body) {
  if (!secret.starts_with(kSecretPrefix)) return cqrs::InvalidArgument("a webhook secret starts with whsec_");
  const auto key = Base64Decode(secret.substr(kSecretPrefix.size()));
  if (!key || key->empty()) return cqrs::InvalidArgument("a webhook secret is whsec_ and base64");
  std::string content;
  content.reserve(id.size() + timestamp.size() + body.size() + 2);
  content.append(id).append(".").append(timestamp).append(".").append(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
           reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &mac_len) == nullptr) {
    return cqrs::Internal("HMAC-SHA256 failed");
  }
  return "v1," + Base64Encode(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

}  // namespace adsd::ads::notify
