// WebhookApi: the webhook routes (docs/api.md, "Webhooks"): register, list, remove an endpoint;
// list its failed or parked deliveries and retry one.
#pragma once

#include "ads/notify/webhooks.h"
#include "app/adsd/blocking_pool.h"
#include "http/auth.h"
#include "http/router.h"

namespace adsd::app {

class WebhookApi {
 public:
  // All must outlive the routes.
  WebhookApi(http::Router& router, const http::ApiKeys& keys, ads::notify::WebhookService& webhooks, BlockingPool& pool)
      : router_(router), keys_(keys), webhooks_(webhooks), pool_(pool) {}
  void AddRoutes();
  const http::ApiKeys& keys() const { return keys_; }

 private:
  void AddRegisterRoute();
  void AddListRoute();
  void AddRemoveRoute();
  void AddDeliveriesRoute();
  void AddRetryRoute();

  http::Router& router_;
  const http::ApiKeys& keys_;
  ads::notify::WebhookService& webhooks_;
  BlockingPool& pool_;
};

}  // namespace adsd::app
