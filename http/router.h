// Router: method + path pattern -> handler, with `{name}` path parameters.
//
// Handlers are asynchronous: they get the request and a Responder, and may answer later from any
// thread (after a durable write, say). A Responder answers once; one dropped without answering
// sends 500, so a forgotten path never hangs a client.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/message.h"

namespace adsd::http {

class Responder {
 public:
  using Send = std::function<void(Response)>;
  explicit Responder(Send send);
  // Sends `response`; later calls are ignored. Thread-safe.
  void operator()(Response response) const;

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared by copies; the last copy answers 500 if nobody did
};

using Handler = std::function<void(Request&, Responder)>;

struct RouteOptions {
  // Requests with a body must carry this content type (415 otherwise). Empty: no body expected.
  std::string body_content_type = "application/json";
  // The query parameters the route reads. One of them given twice (`?limit=5&limit=500`) is 400
  // naming it, before the handler runs: which value counts would be a guess. Others are ignored.
  std::vector<std::string> query_params;
};

struct Route {
  std::string method;
  std::string pattern;
  Handler handler;
  RouteOptions options;
};

class Router {
 public:
  void Add(std::string method, std::string pattern, Handler handler, RouteOptions options = {});

  struct Match {
    const Route* route = nullptr;  // null: no route for this path (404) or method (405)
    std::string allow;             // for 405: the methods the path has, "GET, PATCH, HEAD"
    std::map<std::string, std::string> params;
  };
  // `path` is the raw path as sent (not percent-decoded): literal segments match byte for byte,
  // and a `{param}` segment is decoded after the match.
  Match Find(std::string_view method, std::string_view path) const;
  // Every method some route answers, as an Allow value ("GET, POST, HEAD"): the answer to
  // `OPTIONS *`, which asks about the server rather than a path.
  std::string Methods() const;

 private:
  std::vector<Route> routes_;
};

}  // namespace adsd::http
