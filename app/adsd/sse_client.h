// SseClient: reads a Server-Sent Events stream (GET /v1/ads/stream) over a raw socket, for the
// end-to-end tests of the live stream.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace adsd::app::testing {

// Reads a Server-Sent Events stream over a raw socket.
class SseClient {
 public:
  SseClient(std::uint16_t port, const std::string& token, const std::string& extra_headers = "") : conn_(port) {
    conn_.Send("GET /v1/ads/stream HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\nAuthorization: Bearer " +
               token + "\r\n" + extra_headers + "\r\n");
  }
  // Reads until `text` has arrived (everything read so far is kept); false at the deadline.
  bool ReadUntil(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (data_.find(text) == std::string::npos) {
      if (!conn_.ReadSomeUntil(deadline, data_)) return false;
    }
    return true;
  }
  const std::string& data() const { return data_; }

 private:
  struct Sock {
    explicit Sock(std::uint16_t port) {
      fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(port);
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    }
    ~Sock() { close(fd); }
    void Send(const std::string& s) { (void)::send(fd, s.data(), s.size(), MSG_NOSIGNAL); }
    bool ReadSomeUntil(std::chrono::steady_clock::time_point deadline, std::string& out) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) return false;
      char buf[8192];
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      out.append(buf, static_cast<std::size_t>(n));
      return true;
    }
    int fd;
  };
  Sock conn_;
  std::string data_;
};

}  // namespace adsd::app::testing
