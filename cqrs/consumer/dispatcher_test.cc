#include "cqrs/consumer/dispatcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <future>
#include <map>
#include <thread>
#include <vector>

namespace cqrs::consumer {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

RecordedEvent Event(const std::string& stream, std::uint64_t version) {
  RecordedEvent e;
  e.stream = stream;
  e.version = StreamVersion(version);
  e.type = "Happened";
  return e;
}

// Completions a handler left for later, settled by another thread in batches, as a store's group
// commit settles many appends at once.
class LaterCommits {
 public:
  void Add(Completion done) {
    std::lock_guard lock(mu_);
    pending_.push_back(std::move(done));
  }
  // Settles everything pending, until `stop`.
  void Run(const std::atomic<bool>& stop) {
    while (!stop.load()) {
      std::deque<Completion> batch;
      {
        std::lock_guard lock(mu_);
        batch.swap(pending_);
      }
      for (auto& done : batch) done(Status::Ok());
      std::this_thread::sleep_for(1ms);  // the next group commit's interval
    }
  }

 private:
  std::mutex mu_;
  std::deque<Completion> pending_;
};

TEST(Dispatcher, AsyncCompletionsKeepEachStreamInOrderAndMoveTheWatermark) {
  LaterCommits commits;
  std::mutex mu;
  std::map<std::string, std::vector<std::uint64_t>> seen;
  std::map<std::string, bool> unsettled;  // a stream's previous event not settled yet
  std::atomic<int> overlaps{0};
  Dispatcher d(
      [&](const RecordedEvent& e, Completion done) {
        {
          std::lock_guard lock(mu);
          if (unsettled[e.stream]) overlaps.fetch_add(1);
          unsettled[e.stream] = true;
          seen[e.stream].push_back(e.version.value());
        }
        commits.Add([&, stream = e.stream, done](Status st) {
          {
            std::lock_guard lock(mu);
            unsettled[stream] = false;
          }
          done(st);
        });
      },
      {.lanes = 4, .max_in_flight = 256});
  std::atomic<bool> stop{false};
  std::thread committer([&] { commits.Run(stop); });
  constexpr int kStreams = 13, kPerStream = 60;
  for (int v = 1; v <= kPerStream; ++v) {
    for (int s = 0; s < kStreams; ++s) ASSERT_TRUE(d.Dispatch(Event("s" + std::to_string(s), v)));
  }
  EXPECT_TRUE(d.WaitFor(Ticket(kStreams * kPerStream), Clock::now() + 30s));
  stop.store(true);
  committer.join();
  EXPECT_EQ(overlaps.load(), 0) << "a stream's event ran before the previous one was settled";
  EXPECT_EQ(d.handled(), static_cast<std::uint64_t>(kStreams * kPerStream));
  std::lock_guard lock(mu);
  for (const auto& [stream, versions] : seen) {
    ASSERT_EQ(versions.size(), static_cast<std::size_t>(kPerStream)) << stream;
    for (int i = 0; i < kPerStream; ++i) EXPECT_EQ(versions[i], static_cast<std::uint64_t>(i + 1)) << stream;
  }
}

TEST(Dispatcher, TransientErrorsAreRetriedWithCappedExponentialPausesInOrder) {
  std::mutex mu;
  std::vector<Clock::time_point> attempts;
  std::vector<std::uint64_t> order;
  Dispatcher d(
      [&](const RecordedEvent& e, Completion done) {
        std::lock_guard lock(mu);
        order.push_back(e.version.value());
        if (e.version == StreamVersion(1)) {
          attempts.push_back(Clock::now());
          if (attempts.size() <= 5) return done(Unavailable("validator down"));
        }
        done(Status::Ok());
      },
      {.lanes = 2, .max_in_flight = 16, .retry = {.first = 10ms, .max = 40ms}});
  ASSERT_TRUE(d.Dispatch(Event("a", 1)));
  ASSERT_TRUE(d.Dispatch(Event("a", 2)));
  ASSERT_TRUE(d.WaitFor(Ticket(2), Clock::now() + 30s));
  EXPECT_TRUE(d.status().ok());
  EXPECT_EQ(d.retries(), 5u);
  std::lock_guard lock(mu);
  ASSERT_EQ(attempts.size(), 6u);
  const std::chrono::milliseconds pauses[] = {10ms, 20ms, 40ms, 40ms, 40ms};
  for (std::size_t i = 0; i < 5; ++i) EXPECT_GE(attempts[i + 1] - attempts[i], pauses[i]) << "retry " << i + 1;
  // The stream's next event waited for the retried one.
  EXPECT_EQ(order, (std::vector<std::uint64_t>{1, 1, 1, 1, 1, 1, 2}));
}

TEST(Dispatcher, APermanentErrorStopsTakingEventsAndHoldsTheWatermarkBelowIt) {
  // "bad" fails only once "b" is taken: the failure must not race the dispatch of "b".
  std::promise<void> b_taken;
  std::shared_future<void> taken = b_taken.get_future().share();
  Dispatcher d(
      [taken](const RecordedEvent& e, Completion done) {
        if (e.stream == "bad") taken.wait();
        done(e.stream == "bad" ? InvalidArgument("undecodable payload") : Status::Ok());
      },
      {.lanes = 2, .max_in_flight = 16});
  ASSERT_TRUE(d.Dispatch(Event("a", 1)));
  ASSERT_TRUE(d.Dispatch(Event("bad", 1)));
  const bool b = d.Dispatch(Event("b", 1)).has_value();
  b_taken.set_value();
  ASSERT_TRUE(b);
  ASSERT_TRUE(d.WaitFor(Ticket(1), Clock::now() + 10s));
  const auto deadline = Clock::now() + 10s;
  while (d.status().ok() && Clock::now() < deadline) std::this_thread::sleep_for(1ms);  // polling
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(d.Dispatch(Event("c", 1))) << "a failed consumer took another event";
  EXPECT_FALSE(d.WaitFor(Ticket(3), Clock::now() + 50ms));
  EXPECT_EQ(d.watermark(), Ticket(1));
}

TEST(Dispatcher, StopWaitsForACallInFlightAndLeavesItUndone) {
  std::mutex mu;
  Completion pending;
  std::atomic<bool> called{false};
  auto d = std::make_unique<Dispatcher>(
      [&](const RecordedEvent&, Completion done) {
        std::lock_guard lock(mu);
        pending = std::move(done);
        called.store(true);
      },
      DispatcherOptions{.lanes = 1, .max_in_flight = 4});
  ASSERT_TRUE(d->Dispatch(Event("a", 1)));
  ASSERT_TRUE(d->Dispatch(Event("a", 2)));  // waits behind the first: never runs
  const auto deadline = Clock::now() + 10s;
  while (!called.load() && Clock::now() < deadline) std::this_thread::sleep_for(1ms);  // polling
  ASSERT_TRUE(called.load());
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    d->Stop();
    stopped.store(true);
  });
  std::this_thread::sleep_for(50ms);  // asserts an absence: Stop() must still be waiting
  EXPECT_FALSE(stopped.load());
  EXPECT_EQ(d->calling(), 1u);
  {
    std::lock_guard lock(mu);
    pending(Unavailable("giving up: stopping"));  // what a stopping handler reports
  }
  stopper.join();
  EXPECT_EQ(d->watermark(), Ticket(0));
  EXPECT_EQ(d->retries(), 0u) << "a stopping consumer retried";
  EXPECT_EQ(d->in_flight(), 2u);
  EXPECT_FALSE(d->Dispatch(Event("b", 1)));
}

TEST(Dispatcher, EventsTheFilterDeclinesAreSettledWithoutTheHandler) {
  std::atomic<int> handled{0};
  Dispatcher d(Synchronous([&](const RecordedEvent&) {
                 handled.fetch_add(1);
                 return Status::Ok();
               }),
               {.lanes = 1, .max_in_flight = 8, .filter = [](const RecordedEvent& e) { return e.stream != "skip"; }});
  ASSERT_TRUE(d.Dispatch(Event("skip", 1)));
  ASSERT_TRUE(d.Dispatch(Event("keep", 1)));
  ASSERT_TRUE(d.Skip());
  ASSERT_TRUE(d.WaitFor(Ticket(3), Clock::now() + 10s));
  EXPECT_EQ(handled.load(), 1);
  EXPECT_EQ(d.handled(), 1u);
}

TEST(Dispatcher, ASecondCompletionOfTheSameCallIsIgnored) {
  Dispatcher d(
      [](const RecordedEvent&, Completion done) {
        done(Status::Ok());
        done(InvalidArgument("late"));
      },
      {});
  ASSERT_TRUE(d.Dispatch(Event("a", 1)));
  ASSERT_TRUE(d.WaitFor(Ticket(1), Clock::now() + 10s));
  EXPECT_TRUE(d.status().ok());
  EXPECT_EQ(d.handled(), 1u);
}

}  // namespace
}  // namespace cqrs::consumer

namespace cqrs::consumer {
namespace {

TEST(Dispatcher, TheSourcesDeliveryIsPassedOnAndEveryRetryMayBeARepeat) {
  std::mutex mu;
  std::vector<std::pair<std::uint64_t, Delivery>> calls;  // version, delivery
  Dispatcher d(DeliveryHandler([&](const RecordedEvent& e, Delivery delivery, Completion done) {
                 bool fail = false;
                 {
                   std::lock_guard lock(mu);
                   calls.emplace_back(e.version.value(), delivery);
                   // Event 2's first attempt fails: its retry must not be taken for a first delivery.
                   fail = e.version.value() == 2 && calls.size() == 2;
                 }
                 done(fail ? Unavailable("down for a moment") : Status::Ok());
               }),
               {.lanes = 1, .retry = {.first = 1ms, .max = 1ms}});
  ASSERT_TRUE(d.Dispatch(Event("s", 1), Delivery::kMaybeRepeated));
  ASSERT_TRUE(d.Dispatch(Event("s", 2)));
  auto last = d.Dispatch(Event("s", 3), Delivery::kFirst);
  ASSERT_TRUE(last);
  ASSERT_TRUE(d.WaitFor(*last, Clock::now() + 10s));
  std::lock_guard lock(mu);
  const std::vector<std::pair<std::uint64_t, Delivery>> want = {
      {1, Delivery::kMaybeRepeated}, {2, Delivery::kFirst}, {2, Delivery::kMaybeRepeated}, {3, Delivery::kFirst}};
  EXPECT_EQ(calls, want);
}

}  // namespace
}  // namespace cqrs::consumer
