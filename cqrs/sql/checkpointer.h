// The WAL folder's former name, kept for code written against libcqrs before it was renamed
// (installed header): see wal_folder.h.
#pragma once

#include "cqrs/sql/wal_folder.h"

namespace cqrs::sql {

using Checkpointer [[deprecated("use cqrs::sql::WalFolder (cqrs/sql/wal_folder.h)")]] = WalFolder;

}  // namespace cqrs::sql
