// The OpenAPI 3.1 contract of the HTTP API (docs/openapi.json), built into the binary so that
// `GET /v1/openapi.json` always serves the repository's document (see adsd_embed_file).
#pragma once

#include <string_view>

namespace adsd::app {

// The document's bytes, as in docs/openapi.json when the binary was built.
std::string_view OpenApiDocument();

}  // namespace adsd::app
