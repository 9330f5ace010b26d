#include "http/target.h"

#include <gtest/gtest.h>

namespace adsd::http {
namespace {

TEST(Target, PathStaysRawAndQueryIsDecoded) {
  Request req;
  ASSERT_TRUE(ParseTarget("/v1%2Fads/a%20b?q=a%20b+c&x=%2F", req));
  EXPECT_EQ(req.path, "/v1%2Fads/a%20b");
  EXPECT_EQ(req.query["q"], "a b c");
  EXPECT_EQ(req.query["x"], "/");
}

TEST(Target, AbsoluteFormIsRoutedOnItsPath) {
  Request req;
  ASSERT_TRUE(ParseTarget("http://example.com:8080/v1/ads?limit=2", req));
  EXPECT_EQ(req.path, "/v1/ads");
  EXPECT_EQ(req.query["limit"], "2");
  Request root;
  ASSERT_TRUE(ParseTarget("HTTPS://example.com", root));
  EXPECT_EQ(root.path, "/");
  Request bad;
  EXPECT_FALSE(ParseTarget("http:///v1/ads", bad));
  EXPECT_FALSE(ParseTarget("*", bad));
  EXPECT_FALSE(ParseTarget("example.com:443", bad));
}

TEST(Target, ARepeatedQueryKeyIsNamedAndAFragmentRefused) {
  Request req;
  ASSERT_TRUE(ParseTarget("/v1/ads?limit=5&status=rejected&limit=500&status=x", req));
  EXPECT_EQ(req.repeated_query, (std::set<std::string>{"limit", "status"}));
  EXPECT_EQ(req.query["limit"], "5");
  Request once;
  ASSERT_TRUE(ParseTarget("/v1/ads?limit=5&status=rejected&&", once));
  EXPECT_TRUE(once.repeated_query.empty());
  Request fragment;
  EXPECT_FALSE(ParseTarget("/v1/ads#top", fragment));
  EXPECT_FALSE(ParseTarget("/v1/ads?limit=5#top", fragment));
  EXPECT_TRUE(ParseTarget("/v1/ads?q=%23", fragment)) << "an escaped # is data";
}

TEST(Target, BadEscapesAreRefused) {
  Request req;
  EXPECT_FALSE(ParseTarget("/v1/ads/%", req));
  EXPECT_FALSE(ParseTarget("/v1/ads/%4", req));
  EXPECT_FALSE(ParseTarget("/v1/ads/%zz", req));
  EXPECT_FALSE(ParseTarget("/v1/ads?q=%G0", req));
  EXPECT_EQ(PercentDecode("a%41", false), "aA");
}

TEST(Target, FieldValuesWithControlCharactersAreUnsafe) {
  EXPECT_TRUE(IsSafeFieldValue("attachment; filename=\"a.csv\""));
  EXPECT_TRUE(IsSafeFieldValue("a\tb"));
  EXPECT_FALSE(IsSafeFieldValue("a\r\nSet-Cookie: x=1"));
  EXPECT_FALSE(IsSafeFieldValue(std::string("a\0b", 3)));
  EXPECT_FALSE(IsSafeFieldValue("a\x7f"));
  EXPECT_FALSE(IsSafeFieldValue(" leading"));
  EXPECT_TRUE(IsToken("X-Content-Type-Options"));
  EXPECT_FALSE(IsToken("Bad Header"));
  EXPECT_FALSE(IsToken(""));
}

TEST(Target, Utf8IsCheckedStrictly) {
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9 \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));  // truncated
  EXPECT_EQ(ReplaceInvalidUtf8("a\xFF\x62"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(PrintableUtf8("a\r\nb"),
            "a\xEF\xBF\xBD\xEF\xBF\xBD"
            "b");
}

TEST(Target, AttachmentDispositionFollowsRfc6266) {
  EXPECT_EQ(AttachmentDisposition("ads-acme-2026-01-02.csv"),
            "attachment; filename=\"ads-acme-2026-01-02.csv\"; filename*=UTF-8''ads-acme-2026-01-02.csv");
  const std::string hostile = AttachmentDisposition("a\"b\r\nSet-Cookie: x=1\xFF caf\xC3\xA9.csv");
  EXPECT_TRUE(IsSafeFieldValue(hostile)) << hostile;
  EXPECT_EQ(hostile,
            "attachment; filename=\"a_b__Set-Cookie__x_1__caf__.csv\"; "
            "filename*=UTF-8''a%22b%EF%BF%BD%EF%BF%BDSet-Cookie%3A%20x%3D1%EF%BF%BD%20caf%C3%A9.csv");
}

TEST(Target, IfNoneMatchComparesEntityTagsWeakly) {
  EXPECT_TRUE(IfNoneMatchNames("\"2\"", "\"2\""));
  EXPECT_TRUE(IfNoneMatchNames("W/\"2\"", "\"2\""));
  EXPECT_TRUE(IfNoneMatchNames("\"2\"", "W/\"2\""));
  EXPECT_TRUE(IfNoneMatchNames(" * ", "\"2\""));
  EXPECT_TRUE(IfNoneMatchNames("\"1\", ,\"2\"", "\"2\""));
  EXPECT_FALSE(IfNoneMatchNames("\"22\"", "\"2\"")) << "a tag, not a substring";
  EXPECT_FALSE(IfNoneMatchNames("\"1\", \"3\"", "\"2\""));
  EXPECT_FALSE(IfNoneMatchNames("2", "\"2\"")) << "not entity-tag syntax";
  EXPECT_FALSE(IfNoneMatchNames("\"1\" \"2\"", "\"2\"")) << "a list needs commas";
  EXPECT_FALSE(IfNoneMatchNames("\"*\"", "\"2\""));
  EXPECT_FALSE(IfNoneMatchNames("", "\"2\""));
}

TEST(Target, IfMatchComparesEntityTagsStrongly) {
  EXPECT_TRUE(IfMatchNames("\"2\"", "\"2\""));
  EXPECT_TRUE(IfMatchNames("*", "\"2\""));
  EXPECT_TRUE(IfMatchNames("\"1\", \"2\"", "\"2\""));
  EXPECT_FALSE(IfMatchNames("W/\"2\"", "\"2\"")) << "a weak tag never matches";
  EXPECT_FALSE(IfMatchNames("\"2\"", "W/\"2\""));
  EXPECT_FALSE(IfMatchNames("2", "\"2\""));
}

TEST(Target, MediaTypesCompareWithoutCaseAndParameters) {
  EXPECT_TRUE(MediaTypeIs("application/json", "application/json"));
  EXPECT_TRUE(MediaTypeIs("Application/JSON; charset=utf-8", "application/json"));
  EXPECT_TRUE(MediaTypeIs("application/json ; charset=utf-8", "application/json"));
  EXPECT_TRUE(MediaTypeIs(" application/json\t;charset=UTF-8", "application/json"));
  EXPECT_FALSE(MediaTypeIs("application/jsonx", "application/json"));
  EXPECT_FALSE(MediaTypeIs("text/plain", "application/json"));
}

}  // namespace
}  // namespace adsd::http
