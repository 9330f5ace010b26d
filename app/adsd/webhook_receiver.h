// Receiver: a webhook endpoint for end-to-end tests, a real http::Server in the test process that
// checks every Standard Webhooks signature and answers as the test says.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ads/notify/webhook_signature.h"
#include "http/server.h"

namespace adsd::app::testing {

// One request the receiver got.
struct Received {
  std::string id, timestamp, signature, body;
  bool signature_ok = false;
  int answered = 0;  // the status it was answered (0: held)
};

// A webhook endpoint: an http::Server in this process. `answer` decides each answer: a status, or
// 0 to hold the request unanswered (until Release()).
class Receiver {
 public:
  Receiver() {
    router_.Add("POST", "/hook", [this](http::Request& req, http::Responder respond) {
      Received r;
      r.id = std::string(req.Header("webhook-id").value_or(""));
      r.timestamp = std::string(req.Header("webhook-timestamp").value_or(""));
      r.signature = std::string(req.Header("webhook-signature").value_or(""));
      r.body = req.body;
      int status = 200;
      {
        std::lock_guard lock(mu_);
        auto expected = ads::notify::SignWebhook(secret_, r.id, r.timestamp, r.body);
        r.signature_ok = expected.ok() && *expected == r.signature;
        if (answer_) status = answer_(r);
        r.answered = status;
        received_.push_back(r);
        if (status == 0) held_.push_back(respond);
      }
      cv_.notify_all();
      if (status != 0) respond(http::Response::Json(status, "{}"));
    });
    http::ServerOptions o;
    o.port = 0;
    o.threads = 2;
    o.drain_timeout = std::chrono::milliseconds(100);
    auto s = http::Server::Start(o, router_, nullptr);
    if (s.ok()) server_ = std::move(*s);
  }
  ~Receiver() {
    Release();
    if (server_) server_->Stop();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/hook"; }
  void set_secret(const std::string& s) {
    std::lock_guard lock(mu_);
    secret_ = s;
  }
  void set_answer(std::function<int(const Received&)> f) {
    std::lock_guard lock(mu_);
    answer_ = std::move(f);
  }
  // Answers the held requests 200.
  void Release() {
    std::vector<http::Responder> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
    }
    for (auto& r : held) r(http::Response::Json(200, "{}"));
  }
  // Waits until `done(received)` holds; false at the deadline.
  bool WaitFor(const std::function<bool(const std::vector<Received>&)>& done,
               std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return done(received_); });
  }
  std::vector<Received> received() {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string secret_;
  std::function<int(const Received&)> answer_;
  std::vector<Received> received_;
  std::vector<http::Responder> held_;
};

}  // namespace adsd::app::testing
