// SseClient: reads a Server-Sent Events stream (GET /v1/ads/stream) over a raw connection, for
// the end-to-end tests of the live stream.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "http/test_client.h"

namespace adsd::app::testing {

class SseClient {
 public:
  SseClient(std::uint16_t port, const std::string& token, const std::string& extra_headers = "",
            const std::string& target = "/v1/ads/stream")
      : conn_(port) {
    conn_.Send("GET " + target + " HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\nAuthorization: Bearer " + token +
               "\r\n" + extra_headers + "\r\n");
  }
  // Reads until `text` has arrived (everything read so far is kept); false at the deadline.
  bool ReadUntil(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    return conn_.ReadUntil(text, timeout);
  }
  const std::string& data() const { return conn_.buffered(); }

 private:
  http::testing::Connection conn_;
};

}  // namespace adsd::app::testing
