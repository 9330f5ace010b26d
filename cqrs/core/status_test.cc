#include "cqrs/core/status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace cqrs {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

Status CheckEven(int x) {
  RETURN_IF_ERROR(Half(x).status());
  return Status::Ok();
}

TEST(Status, ResultCarriesValueOrError) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckEven(2).ok());
  EXPECT_EQ(CheckEven(3).ToString(), "InvalidArgument: odd");
}

TEST(Status, ErrnoErrorNamesTheOperation) {
  Status s = ErrnoError("fdatasync 1.seg", EIO);
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find("fdatasync 1.seg: "), std::string::npos);
}

}  // namespace
}  // namespace cqrs
