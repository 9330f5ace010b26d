# Writes a C++ source file holding the bytes of the given files, for serving them from the binary.
# Run at build time (cmake -P), so an edited file is embedded again by the next build:
#
#   cmake -DOUTPUT=assets.cc -DNAMESPACE=adsd::app -DFUNCTION=UiAssets -DFILES="a.html;b.css" -P embed_files.cmake
#
# The generated file defines `std::span<const EmbeddedFile> FUNCTION()` (app/adsd/embedded_file.h):
# each file's base name and bytes, in the order given.
cmake_minimum_required(VERSION 3.20)
foreach(var OUTPUT NAMESPACE FUNCTION FILES)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_files.cmake: ${var} is not set")
  endif()
endforeach()

set(body "// Generated from the files below at build time (cmake/embed_files.cmake): do not edit.\n")
string(APPEND body "#include \"app/adsd/embedded_file.h\"\n\nnamespace ${NAMESPACE} {\nnamespace {\n")
set(entries "")
set(index 0)
foreach(file IN LISTS FILES)
  get_filename_component(name "${file}" NAME)
  file(READ "${file}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  # "0a1b..." -> "'\x0a','\x1b',...": a char array, so no string-literal length limit applies.
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  string(REGEX REPLACE "(('\\\\x[0-9a-f][0-9a-f]',){16})" "\\1\n" bytes "${bytes}")
  string(APPEND body "// ${name}\nconstexpr char kFile${index}[] = {\n${bytes}'\\0'};\n")
  string(APPEND entries "    {\"${name}\", std::string_view(kFile${index}, ${size})},\n")
  math(EXPR index "${index} + 1")
endforeach()
string(APPEND body "}  // namespace\n\nstd::span<const EmbeddedFile> ${FUNCTION}() {\n")
string(APPEND body "  static constexpr EmbeddedFile kFiles[] = {\n${entries}  };\n  return kFiles;\n}\n\n}  // namespace ${NAMESPACE}\n")

# Rewritten only when it changes, so an unchanged input compiles nothing again.
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
  if(old STREQUAL body)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${body}")
