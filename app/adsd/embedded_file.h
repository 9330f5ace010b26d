// EmbeddedFile: a file compiled into the binary at build time (cmake/embed_files.cmake).
#pragma once

#include <span>
#include <string_view>

namespace adsd::app {

struct EmbeddedFile {
  std::string_view name;   // base name: "index.html"
  std::string_view bytes;  // the file's exact bytes
};

// The web UI's files (app/adsd/ui/), generated into ui_assets.cc by the build.
std::span<const EmbeddedFile> UiAssets();

}  // namespace adsd::app
