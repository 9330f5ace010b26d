// Forwarding header: the PostgreSQL store's verifier moved to cqrs/store/postgres/verify.h. This
// path is installed so that code written against it keeps compiling; include the new one.
#pragma once

#include "cqrs/store/postgres/verify.h"  // IWYU pragma: export
