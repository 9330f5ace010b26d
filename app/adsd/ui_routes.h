// The web UI's routes: GET /ui/ and GET /ui/<file>, the files compiled into the binary
// (app/adsd/ui/, embedded by the build). They need no token: the page asks for one and sends it
// to the API itself.
#pragma once

#include "http/router.h"

namespace adsd::app {

void AddUiRoutes(http::Router& router);

}  // namespace adsd::app
