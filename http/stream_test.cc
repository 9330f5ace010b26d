// Streamed answers (stream.h) over real sockets: chunks as they are pushed, the route's close,
// the client's close noticed, and a client that does not read cut off instead of buffered.
#include "http/stream.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "http/server.h"
#include "http/test_client.h"

namespace adsd::http {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/events", [this](Request&, Responder respond) {
      Response r;
      r.content_type = "text/event-stream";
      r.stream = [this](std::shared_ptr<StreamWriter> w) {
        w->OnClose([this] {
          std::lock_guard lock(mu_);
          ++closed_;
          cv_.notify_all();
        });
        std::lock_guard lock(mu_);
        writer_ = std::move(w);
        cv_.notify_all();
      };
      respond(std::move(r));
    });
    ServerOptions o;
    o.port = 0;
    o.stream_buffer_limit = 64 * 1024;
    o.stream_write_timeout = 500ms;
    auto s = Server::Start(o, router_, nullptr);
    ASSERT_TRUE(s.ok());
    server_ = std::move(*s);
  }
  void TearDown() override { server_->Stop(); }

  std::shared_ptr<StreamWriter> Writer() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 5s, [&] { return writer_ != nullptr; });
    return writer_;
  }
  bool WaitClosed(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 5s, [&] { return closed_ >= n; });
  }

  // A raw client that keeps every byte.
  struct Client {
    explicit Client(std::uint16_t port, int rcvbuf = 0,
                    const std::string& req = "GET /events HTTP/1.1\r\nHost: t\r\n\r\n") {
      fd = socket(AF_INET, SOCK_STREAM, 0);
      if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(port);
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    }
    ~Client() {
      if (fd >= 0) close(fd);
    }
    // Reads until `text` arrived or the peer closed; false at the deadline.
    bool ReadUntil(const std::string& text, std::chrono::milliseconds timeout = 5s) {
      const auto deadline = Clock::now() + timeout;
      while (data.find(text) == std::string::npos && !eof) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left)) <= 0) return false;
        char buf[4096];
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
          eof = true;
          break;
        }
        data.append(buf, static_cast<std::size_t>(n));
      }
      return data.find(text) != std::string::npos;
    }
    int fd = -1;
    bool eof = false;
    std::string data;
  };

  Router router_;
  std::unique_ptr<Server> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<StreamWriter> writer_;
  int closed_ = 0;
};

TEST_F(StreamTest, ChunksArriveAsPushedAndTheRouteEndsTheBody) {
  Client c(server_->port());
  auto w = Writer();
  ASSERT_TRUE(w);
  ASSERT_TRUE(c.ReadUntil("\r\n\r\n"));
  EXPECT_NE(c.data.find("Transfer-Encoding: chunked"), std::string::npos) << c.data;
  EXPECT_NE(c.data.find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_TRUE(w->Write("data: one\n\n"));
  ASSERT_TRUE(c.ReadUntil("data: one\n\n"));
  // Pushed from another thread.
  std::thread([w] { w->Write("data: two\n\n"); }).join();
  ASSERT_TRUE(c.ReadUntil("data: two\n\n"));
  w->Close();
  ASSERT_TRUE(c.ReadUntil("0\r\n\r\n"));
  EXPECT_TRUE(WaitClosed(1));
  EXPECT_TRUE(w->closed());
  EXPECT_FALSE(w->Write("late"));
}

TEST_F(StreamTest, HeadGetsTheStreamsHeadAndNoStream) {
  Client c(server_->port(), 0, "HEAD /events HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(c.ReadUntil("HTTP/1.1 404 ")) << c.data;
  EXPECT_TRUE(c.data.starts_with("HTTP/1.1 200 ")) << c.data;
  EXPECT_NE(c.data.find("Transfer-Encoding: chunked\r\n\r\nHTTP/1.1 404 "), std::string::npos)
      << "the head as GET's, with no chunk after it: " << c.data;
  std::unique_lock lock(mu_);
  EXPECT_EQ(writer_, nullptr) << "the route's stream never started";
}

TEST_F(StreamTest, AClientThatGoesAwayEndsTheStream) {
  auto c = std::make_unique<Client>(server_->port());
  auto w = Writer();
  ASSERT_TRUE(w);
  ASSERT_TRUE(c->ReadUntil("\r\n\r\n"));
  c.reset();
  EXPECT_TRUE(WaitClosed(1));
  EXPECT_FALSE(w->Write("data: gone\n\n"));
}

TEST_F(StreamTest, AClientThatDoesNotReadIsCutOffNotBuffered) {
  Client c(server_->port(), 4096);  // a small receive window, and it never reads
  auto w = Writer();
  ASSERT_TRUE(w);
  const std::string chunk(8 * 1024, 'x');
  bool refused = false;
  const auto deadline = Clock::now() + 10s;
  std::size_t written = 0;
  while (!refused && Clock::now() < deadline) {
    refused = !w->Write(chunk);
    written += chunk.size();
    if (!refused) std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(refused) << written << " bytes accepted";
  EXPECT_TRUE(WaitClosed(1));
  EXPECT_TRUE(w->closed());
}

TEST_F(StreamTest, StoppingTheServerEndsOpenStreams) {
  Client c(server_->port());
  auto w = Writer();
  ASSERT_TRUE(w);
  server_->Stop();
  EXPECT_TRUE(WaitClosed(1));
  EXPECT_FALSE(w->Write("after stop"));
}

}  // namespace
}  // namespace adsd::http
