// The web UI's static files, with headers that keep a hostile ad field from ever running as code:
// a Content-Security-Policy that allows only this origin's own script and style files (nothing
// inline, no frames), nosniff (set by the server on every answer), and no referrer.
#include "app/adsd/ui_routes.h"

#include <cstdint>
#include <cstdio>
#include <string>

#include "app/adsd/embedded_file.h"
#include "http/problem.h"
#include "http/target.h"

namespace adsd::app {

namespace {

constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::string_view ContentType(std::string_view name) {
  auto ends = [&](std::string_view ext) { return name.size() >= ext.size() && name.ends_with(ext); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

// A strong validator of the file's bytes (FNV-1a, 64 bits): the files change only with the binary.
std::string ETagOf(std::string_view bytes) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

http::Response Serve(const http::Request& req, const EmbeddedFile& file) {
  const std::string etag = ETagOf(file.bytes);
  http::Response res{200, std::string(ContentType(file.name)), std::string(file.bytes), {}};
  if (auto inm = req.Header("If-None-Match"); inm && http::IfNoneMatchNames(*inm, etag)) {
    res.status = 304;
    res.body.clear();
  }
  // Revalidated on every use (a new binary may serve new files), and cheap to revalidate.
  res.headers = {{"Cache-Control", "no-cache"},
                 {"ETag", etag},
                 {"Content-Security-Policy", kContentSecurityPolicy},
                 {"Referrer-Policy", "no-referrer"},
                 {"Cross-Origin-Opener-Policy", "same-origin"},
                 {"X-Frame-Options", "DENY"}};
  return res;
}

const EmbeddedFile* Find(std::string_view name) {
  for (const EmbeddedFile& f : UiAssets()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace

void AddUiRoutes(http::Router& router) {
  // The page's relative links need the slash: "/ui" is sent to "/ui/".
  router.Add("GET", "/ui", [](http::Request&, http::Responder respond) {
    respond(http::Response{308, "text/plain; charset=utf-8", "/ui/\n", {{"Location", "/ui/"}}});
  });
  router.Add("GET", "/ui/",
             [](http::Request& req, http::Responder respond) { respond(Serve(req, *Find("index.html"))); });
  router.Add("GET", "/ui/{file}", [](http::Request& req, http::Responder respond) {
    const EmbeddedFile* file = Find(req.params["file"]);
    if (file == nullptr) return respond(http::Problem(404, "not-found", "Not found", "no such file in the web UI"));
    respond(Serve(req, *file));
  });
}

}  // namespace adsd::app
