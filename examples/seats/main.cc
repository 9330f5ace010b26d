// seats: seat reservations for a show, a rule that spans streams, kept without a lock or a saga.
//
//   seats [--store DIR | postgresql://USER@HOST:PORT/DB]
//
// Each booking is a stream of its own ("booking-<n>"). The rules are about seats and customers,
// not about one booking: a seat is held by at most one booking at a time, and a customer holds at
// most two seats of a show. Every event says which seat and which customer it concerns in its
// tags; a reservation reads the events of its seat and of its customer (one query), decides, and
// appends on the condition that nothing matching that query was appended since it read. Eight
// clients then race for one seat: exactly one gets it.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cqrs/store/embedded_store.h"
#include "cqrs/store/postgres_store.h"

namespace {

// [snippet:reserve]
// The consistency boundary of a reservation: the events of the seat, and the customer's.
cqrs::Query Boundary(const std::string& seat, const std::string& customer) {
  return cqrs::Query{{cqrs::QueryItem{{}, {"seat:" + seat}}, cqrs::QueryItem{{}, {"customer:" + customer}}}};
}

// Reserves `seat` for `customer` in a new booking stream, or says why not.
cqrs::Result<cqrs::AppendResult> Reserve(cqrs::EventStore& store, const std::string& booking, const std::string& seat,
                                         const std::string& customer) {
  const cqrs::Query boundary = Boundary(seat, customer);
  ASSIGN_OR_RETURN(cqrs::QueryResult seen, store.Read(boundary, cqrs::Position(0), 1000));
  // The state the decision needs, folded from the events the query found.
  bool seat_taken = false;
  int customer_seats = 0;
  for (const cqrs::RecordedEvent& e : seen.events) {
    const int delta = e.type == "SeatReserved" ? 1 : -1;  // or "SeatReleased"
    for (const std::string& tag : e.tags) {
      if (tag == "seat:" + seat) seat_taken = delta > 0;
      if (tag == "customer:" + customer) customer_seats += delta;
    }
  }
  if (seat_taken) return cqrs::InvalidArgument("seat " + seat + " is taken");
  if (customer_seats >= 2) return cqrs::InvalidArgument(customer + " already holds 2 seats");
  cqrs::EventData reserved;
  reserved.event_id = cqrs::Uuid::V7();
  reserved.type = "SeatReserved";
  reserved.payload = "{\"seat\":\"" + seat + "\",\"customer\":\"" + customer + "\"}";
  reserved.tags = {"seat:" + seat, "customer:" + customer};
  // Fails with kVersionConflict if anything about this seat or customer was appended since the
  // read (seen.head): the decision above would have to be made again.
  return store.AppendIf(booking, cqrs::ExpectedVersion::NoStream(), std::span(&reserved, 1), {boundary, seen.head});
}
// [end:reserve]

void Report(const char* what, const cqrs::Result<cqrs::AppendResult>& r) {
  if (r.ok()) {
    std::printf("%s: ok, position %llu\n", what, static_cast<unsigned long long>(r->last_position.value()));
  } else {
    std::printf("%s: %s\n", what, r.status().ToString().c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string where = "seats-data";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--store") where = argv[i + 1];
  }
  const bool on_postgres = where.starts_with("postgresql://") || where.starts_with("postgres://");
  auto opened =
      on_postgres ? cqrs::OpenPostgresEventStore({.url = where}) : cqrs::OpenEmbeddedEventStore({.dir = where});
  if (!opened.ok()) {
    std::fprintf(stderr, "open %s: %s\n", where.c_str(), opened.status().ToString().c_str());
    return 1;
  }
  cqrs::EventStore& store = **opened;
  std::printf("store: %s\n", on_postgres ? "postgresql" : "embedded log");
  const std::string run = cqrs::Uuid::V7().ToString().substr(0, 8);  // fresh names on a reused store
  auto booking = [&](int n) { return "booking-" + run + "-" + std::to_string(n); };
  auto customer = [&](const char* who) { return std::string(who) + "-" + run; };

  Report("alice reserves A1", Reserve(store, booking(1), "A1-" + run, customer("alice")));
  Report("bob reserves A1", Reserve(store, booking(2), "A1-" + run, customer("bob")));
  Report("alice reserves A2", Reserve(store, booking(3), "A2-" + run, customer("alice")));
  Report("alice reserves A3", Reserve(store, booking(4), "A3-" + run, customer("alice")));

  // [snippet:race]
  // Eight clients decide at once that seat B7 is free; the store lets exactly one append through.
  // A loser is told either that the seat changed since it read (kVersionConflict) or, reading
  // after the winner, that it is taken.
  std::atomic<int> won{0}, lost{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      auto r = Reserve(store, booking(100 + c), "B7-" + run, customer(("client" + std::to_string(c)).c_str()));
      ++(r.ok() ? won : lost);
    });
  }
  for (std::thread& t : clients) t.join();
  std::printf("8 clients race for B7: %d reserved it, %d did not\n", won.load(), lost.load());
  // [end:race]
  return won.load() == 1 ? 0 : 1;
}
