// libFuzzer target for the whole request path: bytes -> HTTP parser -> edge checks -> router ->
// the real adsd handlers (auth, JSON, validation, the embedded log and read model) -> answer.
//
// One adsd service runs in this process for the whole run, on loopback and a temporary data
// directory; each input is sent on a fresh connection, which is half-closed so the server sees
// the end, and the answer is read until the server closes. Any crash, sanitizer report or hang
// in a server thread fails the run. Seeds: app/adsd/fuzz/request/ (the API token below).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "app/adsd/service.h"

namespace {

constexpr const char* kToken = "fuzz-token-0123456789abcdef";
constexpr const char* kAdminToken = "fuzz-admin-0123456789abcdef";

adsd::app::AdService* StartService() {
  char dir[] = "/tmp/adsd-request-fuzz-XXXXXX";
  if (mkdtemp(dir) == nullptr) std::abort();
  const std::filesystem::path root(dir);
  {
    std::ofstream keys(root / "keys.toml");
    keys << "[[key]]\ntoken = \"" << kToken << "\"\nretailer = \"fuzz\"\n"
         << "[[key]]\ntoken = \"" << kAdminToken << "\"\nrole = \"admin\"\n";
  }
  adsd::app::ServiceOptions o;
  o.data_dir = root / "data";
  o.api_keys = root / "keys.toml";
  o.http.port = 0;
  o.http.request_timeout = std::chrono::milliseconds(2000);
  auto service = adsd::app::AdService::Start(o);
  if (!service.ok()) {
    std::fprintf(stderr, "request_fuzz: %s\n", service.status().ToString().c_str());
    std::abort();
  }
  return service->release();  // runs for the life of the process
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static adsd::app::AdService* service = StartService();
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(service->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::abort();  // the server died
  std::size_t sent = 0;
  while (sent < size) {
    const ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server closed early (a refused request): fine
    sent += static_cast<std::size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  // Read until the server closes; a read-your-writes wait may hold an answer for seconds, so give
  // up after a bound (the server must still cope with the vanished client).
  char buf[65536];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 3000) <= 0) break;
    if (recv(fd, buf, sizeof buf, 0) <= 0) break;
  }
  close(fd);
  return 0;
}
