#include "cqrs/log/consumer_offsets.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <system_error>

#include "cqrs/core/crc32c.h"
#include "cqrs/log/format.h"
#include "cqrs/log/segment_file.h"

namespace cqrs::log {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kSuffix = ".offset";

bool ValidGroupName(const std::string& g) {
  if (g.empty() || g.size() > 128) return false;
  for (char c : g) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return g != "." && g != "..";
}

// File content: u64 position, u32 CRC32C of those 8 bytes.
std::string Encode(Position p) {
  std::string s(12, '\0');
  format::Store<std::uint64_t>(s.data(), p.value());
  format::Store<std::uint32_t>(s.data() + 8, crc32c::Value(s.data(), 8));
  return s;
}

}  // namespace

Result<std::unique_ptr<ConsumerOffsets>> ConsumerOffsets::Open(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return ErrnoError("create " + dir.string(), ec.value());
  std::unique_ptr<ConsumerOffsets> offsets(new ConsumerOffsets(dir));
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.ends_with(kSuffix)) continue;  // leftover temporaries of an interrupted commit too
    const std::string group = name.substr(0, name.size() - kSuffix.size());
    ASSIGN_OR_RETURN(Fd fd, OpenFile(entry.path(), O_RDONLY));
    char buf[12];
    ASSIGN_OR_RETURN(std::size_t got, PreadSome(fd.get(), buf, sizeof buf, 0, entry.path()));
    if (got != sizeof buf || format::Load<std::uint32_t>(buf + 8) != crc32c::Value(buf, 8)) {
      return Corruption("consumer offset file " + entry.path().string() + " is damaged");
    }
    MutexLock lock(offsets->mu_);  // not shared yet: for the analysis
    offsets->offsets_[group] = Position(format::Load<std::uint64_t>(buf));
  }
  if (ec) return ErrnoError("list " + dir.string(), ec.value());
  return offsets;
}

Position ConsumerOffsets::Load(const std::string& group) const {
  MutexLock lock(mu_);
  auto it = offsets_.find(group);
  return it == offsets_.end() ? Position(0) : it->second;
}

Status ConsumerOffsets::Commit(const std::string& group, Position processed) {
  if (!ValidGroupName(group)) return InvalidArgument("group: must match [A-Za-z0-9._-]{1,128}");
  MutexLock lock(mu_);
  // Write a new file and rename it over the old one: a crash leaves either the old or the new
  // offset, never a torn one.
  const fs::path final_path = dir_ / (group + std::string(kSuffix));
  const fs::path tmp_path = dir_ / (group + ".tmp");
  {
    ASSIGN_OR_RETURN(Fd fd, OpenFile(tmp_path, O_WRONLY | O_CREAT | O_TRUNC));
    RETURN_IF_ERROR(WriteAll(fd.get(), Encode(processed), tmp_path));
    RETURN_IF_ERROR(SyncData(fd.get(), tmp_path));
  }
  RETURN_IF_ERROR(RenameFile(tmp_path, final_path));
  RETURN_IF_ERROR(SyncDir(dir_));
  offsets_[group] = processed;
  return Status::Ok();
}

}  // namespace cqrs::log
