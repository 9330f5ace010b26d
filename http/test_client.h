// A deliberately small HTTP client for tests: raw sockets, so that tests can also send bytes no
// real client would (malformed requests, slow trickles, oversized headers).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace adsd::http::testing {

struct RawResponse {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
};

class Connection {
 public:
  explicit Connection(std::uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Connection() { close(fd_); }
  bool connected() const { return connected_; }

  bool Send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }

  // Reads one response (Content-Length framed). nullopt on close or timeout.
  std::optional<RawResponse> Receive(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const auto end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        RawResponse r;
        r.head = buf_.substr(0, end);
        r.status = std::stoi(r.head.substr(9, 3));
        std::size_t length = 0;
        const auto cl = Lower(r.head).find("content-length:");
        if (cl != std::string::npos) length = std::stoul(r.head.substr(cl + 15));
        if (buf_.size() >= end + 4 + length) {
          r.body = buf_.substr(end + 4, length);
          buf_.erase(0, end + 4 + length);
          return r;
        }
      }
      if (!ReadSome(deadline)) return std::nullopt;
    }
  }

  // Reads until `text` has arrived (a streamed answer, read as it comes); false at the deadline
  // or on close. What was read stays in buffered().
  bool ReadUntil(std::string_view text, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (buf_.find(text) == std::string::npos) {
      if (!ReadSome(deadline)) return false;
    }
    return true;
  }
  const std::string& buffered() const { return buf_; }

  // Whether the server closed the connection before the deadline.
  bool ClosedByPeer(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!ReadSome(deadline)) return closed_;
    }
    return closed_;
  }

  static std::string Lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

 private:
  bool ReadSome(std::chrono::steady_clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[65536];
    const ssize_t n = recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  int fd_;
  bool connected_ = false;
  bool closed_ = false;
  std::string buf_;
};

inline std::string Get(const std::string& path, const std::string& extra_headers = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: t\r\n" + extra_headers + "\r\n";
}

inline std::string Post(const std::string& path, const std::string& body,
                        const std::string& content_type = "application/json", const std::string& extra = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: t\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

}  // namespace adsd::http::testing
