// ReadApi: the Read API's routes — an ad and its verdict (with read-your-writes), a retailer's
// ads by status, an ad's history from the event store, the daily report.
#pragma once

#include <memory>

#include "app/adsd/blocking_pool.h"
#include "app/adsd/read_side.h"
#include "cqrs/store/event_store.h"
#include "http/auth.h"
#include "http/router.h"

namespace adsd::app {

class ReadApi {
 public:
  // All must outlive the routes.
  ReadApi(http::Router& router, const http::ApiKeys& keys, const ReadSide& read_side, const cqrs::EventStore& store,
          BlockingPool& pool)
      : router_(router), keys_(keys), read_side_(read_side), store_(store), pool_(pool) {}
  void AddRoutes();
  const http::ApiKeys& keys() const { return keys_; }

 private:
  std::shared_ptr<cqrs::projection::Runner> runner() const { return read_side_.runner(); }
  const ads::AdQueries& queries() const { return read_side_.queries(); }
  const cqrs::EventStore& store() const { return store_; }
  BlockingPool& pool() { return pool_; }

  http::Router& router_;
  const http::ApiKeys& keys_;
  const ReadSide& read_side_;
  const cqrs::EventStore& store_;
  BlockingPool& pool_;
};

}  // namespace adsd::app
