// Forwarding header: the PostgreSQL store moved to cqrs/store/postgres/store.h. This
// path is installed so that code written against it keeps compiling; include the new one.
#pragma once

#include "cqrs/store/postgres/store.h"  // IWYU pragma: export
