// The layout of a data directory, shared by adsd and adsctl.
//
//   DATA_DIR/log/        the event log (segment files)
//   DATA_DIR/offsets/    consumer-group offsets
//   DATA_DIR/read.db     SQLite read models
#pragma once

#include <filesystem>

namespace adsd::app {

inline std::filesystem::path LogDir(const std::filesystem::path& data_dir) { return data_dir / "log"; }
inline std::filesystem::path OffsetsDir(const std::filesystem::path& data_dir) { return data_dir / "offsets"; }
inline std::filesystem::path ReadModelPath(const std::filesystem::path& data_dir) { return data_dir / "read.db"; }

}  // namespace adsd::app
