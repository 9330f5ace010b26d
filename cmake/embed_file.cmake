# Writes a C++ source that holds a file's bytes, so that a binary serves exactly the repository's
# copy of a document (docs/openapi.json). Run at build time by adsd_embed_file() (cmake/adsd.cmake):
#
#   cmake -DINPUT=doc.json -DOUTPUT=doc.cc -DFUNCTION=adsd::app::OpenApiDocument -P embed_file.cmake
#
# The source defines `std::string_view FUNCTION()`. The bytes go in as a hex array rather than a
# raw string literal: nothing in the file can end the literal early.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){24})" "\\1\n" bytes "${bytes}")
string(REGEX MATCH "^(.*)::([A-Za-z_][A-Za-z0-9_]*)$" _ "${FUNCTION}")
set(namespace "${CMAKE_MATCH_1}")
set(name "${CMAKE_MATCH_2}")
get_filename_component(input_name "${INPUT}" NAME)
set(text "// Generated at build time from ${input_name} by cmake/embed_file.cmake: do not edit.
#include <cstddef>
#include <string_view>

namespace ${namespace} {

namespace {
constexpr std::size_t kSize = ${size};
const unsigned char kBytes[kSize + 1] = {
${bytes}0x00};
}  // namespace

std::string_view ${name}() { return {reinterpret_cast<const char*>(kBytes), kSize}; }

}  // namespace ${namespace}
")
# Rewritten only when it changes, so an unchanged document rebuilds nothing.
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT "${old}" STREQUAL "${text}")
  file(WRITE "${OUTPUT}" "${text}")
endif()
