// GET /v1/openapi.json over real HTTP: the repository's docs/openapi.json byte for byte, without a
// token. (api_contract_test fuzzes the server against it; this test needs nothing from outside
// the build.)
#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <sstream>

#include "app/adsd/adsd_process.h"
#include "cqrs/core/testing/temp_dir.h"

namespace adsd::app {
namespace {

std::string ReadFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(OpenApiRoute, ServesTheRepositorysDocumentWithoutAToken) {
  cqrs::testing::TempDir dir;
  testing::AdsdProcess adsd(dir / "data", "async");
  ASSERT_TRUE(adsd.started());
  const std::string expected = ReadFile(OPENAPI_DOCUMENT);
  ASSERT_FALSE(expected.empty());

  http::testing::Connection c(adsd.port());
  for (int i = 0; i < 3; ++i) {  // on one kept-alive connection
    ASSERT_TRUE(c.Send(http::testing::Get("/v1/openapi.json")));
    auto r = c.Receive();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->head;
    EXPECT_NE(r->head.find("Content-Type: application/json"), std::string::npos) << r->head;
    EXPECT_EQ(r->body, expected);
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(expected).get(doc), simdjson::SUCCESS);
  std::string_view version;
  ASSERT_EQ(doc["openapi"].get(version), simdjson::SUCCESS);
  EXPECT_EQ(version, "3.1.0");
}

}  // namespace
}  // namespace adsd::app
