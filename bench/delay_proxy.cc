// delay_proxy: a TCP proxy that delays every byte by a fixed time in each direction, to measure
// adsd against a PostgreSQL that is a network hop away on a machine without netem.
//
//   delay_proxy --target HOST:PORT [--listen 127.0.0.1:0] [--delay-ms 1]
//
// Prints "delay_proxy listening on HOST:PORT" once it accepts connections. Data read from one
// side at time t is written to the other side at t + delay (order kept, no bandwidth limit), so a
// request/response round trip costs 2 × delay more. One thread, ppoll() with microsecond timeouts.
// Runs until killed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <deque>
#include <list>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Chunk {
  Clock::time_point due;
  std::string data;
  std::size_t sent = 0;
};

// One direction of a connection: bytes read from `from`, waiting to be written to `to`.
struct Flow {
  int from = -1, to = -1;
  std::deque<Chunk> queue;
  bool eof = false;        // `from` said EOF
  bool shut = false;       // EOF passed on to `to`
  std::size_t queued = 0;  // bytes in `queue`
};

struct Pair {
  Flow up, down;  // client → server, server → client
  bool broken = false;
};

bool ParseAddress(const std::string& s, sockaddr_in& out) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  out = {};
  out.sin_family = AF_INET;
  out.sin_port = htons(static_cast<std::uint16_t>(std::stoi(s.substr(colon + 1))));
  return inet_pton(AF_INET, s.substr(0, colon).c_str(), &out.sin_addr) == 1;
}

void NonBlockingNoDelay(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Reads what `f.from` has; false when the pair is broken.
bool ReadSome(Flow& f, std::chrono::microseconds delay) {
  char buf[65536];
  const ssize_t n = ::read(f.from, buf, sizeof buf);
  if (n > 0) {
    f.queue.push_back({Clock::now() + delay, std::string(buf, static_cast<std::size_t>(n))});
    f.queued += static_cast<std::size_t>(n);
    return true;
  }
  if (n == 0) {
    f.eof = true;
    return true;
  }
  return errno == EAGAIN || errno == EINTR;
}

// Writes the chunks that are due; false when the pair is broken.
bool WriteDue(Flow& f) {
  const auto now = Clock::now();
  while (!f.queue.empty() && f.queue.front().due <= now) {
    Chunk& c = f.queue.front();
    const ssize_t n = ::write(f.to, c.data.data() + c.sent, c.data.size() - c.sent);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    c.sent += static_cast<std::size_t>(n);
    f.queued -= static_cast<std::size_t>(n);
    if (c.sent < c.data.size()) return true;
    f.queue.pop_front();
  }
  if (f.eof && f.queue.empty() && !f.shut) {
    ::shutdown(f.to, SHUT_WR);
    f.shut = true;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"a TCP proxy that adds a fixed delay in each direction"};
  std::string listen_at = "127.0.0.1:0", target_at;
  double delay_ms = 1;
  app.add_option("--target", target_at, "HOST:PORT to forward to")->required();
  app.add_option("--listen", listen_at, "HOST:PORT to listen on (port 0: any free port)");
  app.add_option("--delay-ms", delay_ms, "delay each way, in milliseconds")->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  const auto delay = std::chrono::microseconds(static_cast<std::int64_t>(delay_ms * 1000));

  sockaddr_in listen_addr{}, target{};
  if (!ParseAddress(listen_at, listen_addr) || !ParseAddress(target_at, target)) {
    std::fprintf(stderr, "delay_proxy: addresses are IPv4 HOST:PORT\n");
    return 2;
  }
  const int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&listen_addr), sizeof listen_addr) != 0 || ::listen(lfd, 512) != 0) {
    std::perror("delay_proxy: listen");
    return 1;
  }
  socklen_t len = sizeof listen_addr;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&listen_addr), &len);
  char host[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &listen_addr.sin_addr, host, sizeof host);
  std::printf("delay_proxy listening on %s:%d\n", host, ntohs(listen_addr.sin_port));
  std::fflush(stdout);
  fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);

  constexpr std::size_t kBackpressure = 8 << 20;  // stop reading a side while this much waits
  std::list<Pair> pairs;
  std::vector<pollfd> fds;
  std::vector<Flow*> readers, writers;  // per pollfd after the listener: whose fd it is
  while (true) {
    fds.assign(1, pollfd{lfd, POLLIN, 0});
    readers.assign(1, nullptr);
    writers.assign(1, nullptr);
    auto next_due = Clock::time_point::max();
    for (Pair& p : pairs) {
      for (Flow* f : {&p.up, &p.down}) {
        const bool read = !f->eof && f->queued < kBackpressure;
        const bool write = !f->queue.empty() && f->queue.front().due <= Clock::now();
        if (!f->queue.empty() && !write) next_due = std::min(next_due, f->queue.front().due);
        if (read) {
          fds.push_back({f->from, POLLIN, 0});
          readers.push_back(f);
          writers.push_back(nullptr);
        }
        if (write) {
          fds.push_back({f->to, POLLOUT, 0});
          readers.push_back(nullptr);
          writers.push_back(f);
        }
      }
    }
    timespec timeout{1, 0};
    if (next_due != Clock::time_point::max()) {
      const auto wait = std::max(Clock::duration::zero(), next_due - Clock::now());
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
      timeout = {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
    }
    if (::ppoll(fds.data(), fds.size(), &timeout, nullptr) < 0 && errno != EINTR) {
      std::perror("delay_proxy: ppoll");
      return 1;
    }
    if (fds[0].revents & POLLIN) {
      while (true) {
        const int c = ::accept(lfd, nullptr, nullptr);
        if (c < 0) break;
        const int s = ::socket(AF_INET, SOCK_STREAM, 0);
        if (::connect(s, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0) {
          std::perror("delay_proxy: connect to the target");
          ::close(c);
          ::close(s);
          continue;
        }
        NonBlockingNoDelay(c);
        NonBlockingNoDelay(s);
        Pair& p = pairs.emplace_back();
        p.up.from = p.down.to = c;
        p.up.to = p.down.from = s;
      }
    }
    for (std::size_t i = 1; i < fds.size(); ++i) {
      if (readers[i] && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        if (!ReadSome(*readers[i], delay)) readers[i]->eof = true;
      }
    }
    for (Pair& p : pairs) {
      if (!WriteDue(p.up) || !WriteDue(p.down)) p.broken = true;
    }
    for (auto it = pairs.begin(); it != pairs.end();) {
      const bool done = it->up.shut && it->down.shut;
      if (it->broken || done) {
        ::close(it->up.from);
        ::close(it->up.to);
        it = pairs.erase(it);
      } else {
        ++it;
      }
    }
  }
}
