// cqrs_demo: a two-minute tour of the engine, until the service binary exists.
//
// Appends events to a few streams with optimistic concurrency, shows a version conflict and an
// idempotent retry, reads a stream and the global order back, and prints the log's head hash.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <filesystem>

#include "cqrs/log/verify.h"
#include "cqrs/store/embedded_store.h"

namespace {

cqrs::EventData Event(std::string type, std::string payload) {
  cqrs::EventData e;
  e.event_id = cqrs::Uuid::V7();
  e.type = std::move(type);
  e.payload = std::move(payload);
  return e;
}

int Run(const std::filesystem::path& data_dir) {
  using cqrs::ExpectedVersion;
  using cqrs::StreamVersion;
  auto opened = cqrs::OpenEmbeddedEventStore({data_dir / "log"});
  if (!opened.ok()) {
    fmt::print(stderr, "open: {}\n", opened.status().ToString());
    return 1;
  }
  cqrs::EventStore& store = **opened;
  fmt::print("opened {}: head position {}\n", (data_dir / "log").string(), store.Head().value());

  const std::string stream = "ad-" + cqrs::Uuid::V7().ToString();
  auto submitted = Event("AdSubmitted", R"({"title":"Winter boots","bid_cents":120})");
  auto r1 = store.Append(stream, ExpectedVersion::NoStream(), std::span(&submitted, 1));
  if (!r1.ok()) return fmt::print(stderr, "{}\n", r1.status().ToString()), 1;
  fmt::print("appended AdSubmitted to {} at version {}, position {} (durable)\n", stream, r1->last_version.value(),
             r1->last_position.value());

  auto retry = store.Append(stream, ExpectedVersion::NoStream(), std::span(&submitted, 1));
  fmt::print("retrying the same event: idempotent={} position {}\n", retry->idempotent_replay,
             retry->last_position.value());

  auto approved = Event("AdApproved", R"({"reasons":[]})");
  auto stale = store.Append(stream, ExpectedVersion::Exact(StreamVersion(0)), std::span(&approved, 1));
  fmt::print("appending with a stale expected version: {}\n", stale.status().ToString());
  auto r2 = store.Append(stream, ExpectedVersion::Exact(StreamVersion(1)), std::span(&approved, 1));
  if (!r2.ok()) return fmt::print(stderr, "{}\n", r2.status().ToString()), 1;

  auto events = store.ReadStream(stream, StreamVersion(1), 100);
  for (const auto& e : *events) {
    fmt::print("  {} v{} @{} {} {}\n", e.stream, e.version.value(), e.position.value(), e.type, e.payload);
  }
  opened = cqrs::Status(cqrs::StatusCode::kUnavailable, "closed");  // close before verifying
  auto report = cqrs::log::VerifyLog(data_dir / "log");
  if (!report.ok()) return fmt::print(stderr, "{}\n", report.status().ToString()), 1;
  fmt::print("verify: {} records, head hash {}, {}\n", report->records, cqrs::ToHex(report->head_hash),
             report->problem ? report->problem->reason : "intact");
  return report->problem ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cqrs_demo: a short tour of the adsd engine"};
  std::string data_dir = "./data";
  app.add_option("--data-dir", data_dir, "data directory")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return Run(data_dir);
}
