#include "app/adsd/ui_routes.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/adsd/embedded_file.h"

namespace adsd::app {
namespace {

std::string Header(const http::Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

class UiRoutesTest : public ::testing::Test {
 protected:
  UiRoutesTest() { AddUiRoutes(router_); }

  http::Response Get(const std::string& path, std::vector<std::pair<std::string, std::string>> headers = {}) {
    const auto match = router_.Find("GET", path);
    EXPECT_NE(match.route, nullptr) << path;
    if (match.route == nullptr) return {};
    http::Request req;
    req.method = "GET";
    req.path = path;
    req.params = match.params;
    req.headers = std::move(headers);
    http::Response out;
    match.route->handler(req, http::Responder([&](http::Response r) { out = std::move(r); }));
    return out;
  }

  http::Router router_;
};

TEST_F(UiRoutesTest, EveryFileIsEmbeddedAsItIsInTheRepository) {
  std::size_t on_disk = 0;
  for (const auto& entry : std::filesystem::directory_iterator(ADSD_UI_DIR)) {
    if (entry.path().filename() == "README.md") continue;  // about the files, not one of them
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    const http::Response r = Get("/ui/" + entry.path().filename().string());
    EXPECT_EQ(r.status, 200) << entry.path();
    EXPECT_EQ(r.body, bytes.str()) << entry.path() << " differs from the embedded copy";
    ++on_disk;
  }
  EXPECT_EQ(UiAssets().size(), on_disk) << "every file of app/adsd/ui/ (but its README) is listed in ADSD_UI_FILES";
}

TEST_F(UiRoutesTest, ThePageAndItsHeaders) {
  const http::Response page = Get("/ui/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<script type=\"module\" src=\"app.js\"></script>"), std::string::npos);
  EXPECT_EQ(Header(page, "Cache-Control"), "no-cache");
  const std::string csp = Header(page, "Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;
  EXPECT_EQ(Get("/ui/app.js").content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(Get("/ui/app.css").content_type, "text/css; charset=utf-8");
  EXPECT_EQ(Get("/ui/favicon.svg").content_type, "image/svg+xml");
}

TEST_F(UiRoutesTest, NoSlashIsRedirected) {
  const http::Response r = Get("/ui");
  EXPECT_EQ(r.status, 308);
  EXPECT_EQ(Header(r, "Location"), "/ui/");
}

TEST_F(UiRoutesTest, RevalidationAnswers304) {
  const http::Response first = Get("/ui/app.js");
  const std::string etag = Header(first, "ETag");
  ASSERT_EQ(etag.size(), 18u) << etag;  // a quoted 64-bit hex
  const http::Response again = Get("/ui/app.js", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(Header(again, "ETag"), etag);
  EXPECT_EQ(Get("/ui/app.js", {{"If-None-Match", "W/" + etag}}).status, 304) << "weak comparison";
  EXPECT_EQ(Get("/ui/app.js", {{"If-None-Match", "\"0000000000000000\""}}).status, 200);
  EXPECT_NE(Header(Get("/ui/app.css"), "ETag"), etag) << "each file its own tag";
}

TEST_F(UiRoutesTest, UnknownFilesAre404) {
  EXPECT_EQ(Get("/ui/nothing.js").status, 404);
  EXPECT_EQ(Get("/ui/..%2Fservice.cc").status, 404);
  EXPECT_EQ(router_.Find("GET", "/ui/a/b").route, nullptr);
}

}  // namespace
}  // namespace adsd::app
