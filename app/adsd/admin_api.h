// AdminApi: the operator's routes — /healthz, /readyz, /metrics, the API contract
// (/v1/openapi.json), the log's verification (admin token only), and on processes with a read
// model the parked streams, their replay, and the online rebuild (admin token only).
#pragma once

#include <functional>

#include "ads/read/read_side.h"
#include "app/adsd/blocking_pool.h"
#include "app/adsd/readiness.h"
#include "app/common/log_verify.h"
#include "http/auth.h"
#include "http/metrics.h"
#include "http/router.h"

namespace adsd::app {

class AdminApi {
 public:
  // All must outlive the routes. `read_side` is null on processes that serve no reads.
  // `verify_log` walks the store this process serves (it may take seconds: it runs on the pool).
  AdminApi(http::Router& router, const http::ApiKeys& keys, http::Metrics& metrics, ads::ReadSide* read_side,
           BlockingPool& pool, std::function<ReadinessReport()> readiness,
           std::function<cqrs::Result<LogVerifyReport>()> verify_log)
      : router_(router),
        keys_(keys),
        metrics_(metrics),
        read_side_(read_side),
        pool_(pool),
        readiness_(std::move(readiness)),
        verify_log_(std::move(verify_log)) {}
  void AddRoutes();
  const http::ApiKeys& keys() const { return keys_; }

 private:
  void AddReadModelRoutes();
  void AddVerifyRoute();

  http::Router& router_;
  const http::ApiKeys& keys_;
  http::Metrics& metrics_;
  ads::ReadSide* read_side_;
  BlockingPool& pool_;
  std::function<ReadinessReport()> readiness_;
  std::function<cqrs::Result<LogVerifyReport>()> verify_log_;
};

}  // namespace adsd::app
