// HexDigitValue: 0-15 for a hexadecimal digit (either case), -1 for any other character; for
// parsers of UUIDs and percent-encoded text alike.
#pragma once

namespace cqrs {

constexpr int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace cqrs
