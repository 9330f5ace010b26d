// ReadApi: the Read API's routes — an ad and its verdict (with read-your-writes), a retailer's
// ads by status, an ad's history from the event store, the daily report. A thin HTTP map over
// ads::AdReads (ads/read/reads.h), as WriteApi is over ads::AdCommands.
#pragma once

#include "ads/read/reads.h"
#include "http/auth.h"
#include "http/router.h"

namespace adsd::app {

class ReadApi {
 public:
  // All must outlive the routes.
  ReadApi(http::Router& router, const http::ApiKeys& keys, const ads::AdReads& reads)
      : router_(router), keys_(keys), reads_(reads) {}
  void AddRoutes();
  const http::ApiKeys& keys() const { return keys_; }

 private:
  http::Router& router_;
  const http::ApiKeys& keys_;
  const ads::AdReads& reads_;
};

}  // namespace adsd::app
