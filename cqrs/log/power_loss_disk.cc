#include "cqrs/log/power_loss_disk.h"

#include <algorithm>
#include <fstream>

namespace cqrs::log::testing {

namespace fs = std::filesystem;

namespace {

struct DataOp {
  bool truncate = false;
  std::uint64_t offset = 0;  // write offset, or the size to truncate to
  std::string bytes;
};

void Apply(std::string& content, const DataOp& op) {
  if (op.truncate) {
    content.resize(static_cast<std::size_t>(op.offset), '\0');
    return;
  }
  const auto end = static_cast<std::size_t>(op.offset + op.bytes.size());
  if (content.size() < end) content.resize(end, '\0');  // a hole reads as zeros
  std::copy(op.bytes.begin(), op.bytes.end(), content.begin() + static_cast<std::ptrdiff_t>(op.offset));
}

std::string Parent(const std::string& rel) {
  const auto slash = rel.rfind('/');
  return slash == std::string::npos ? "" : rel.substr(0, slash);
}

}  // namespace

struct PowerLossDisk::Model {
  struct Object {
    std::string durable;
    std::vector<DataOp> pending;
  };
  struct DirChange {
    enum { kLink, kUnlink, kRename } kind;
    std::string path, to;
    int object = -1;
  };
  // One unit of unsynced data that may or may not persist: a page of a write, or a truncate.
  struct Piece {
    int object;
    DataOp op;
  };
  std::map<int, Object> objects;
  std::map<std::string, int> names;    // as the processes saw them
  std::map<std::string, int> durable;  // entries persisted by a directory fsync
  std::vector<DirChange> pending_dir;  // changes since, in order
  int next_object = 0;

  std::vector<Piece> Pieces() const {
    std::vector<Piece> out;
    for (const auto& [id, obj] : objects) {
      for (const DataOp& op : obj.pending) {
        if (op.truncate) {
          out.push_back({id, op});
          continue;
        }
        std::uint64_t at = op.offset;
        const std::uint64_t end = op.offset + op.bytes.size();
        while (at < end) {
          const std::uint64_t page_end = std::min(end, (at / kPageBytes + 1) * kPageBytes);
          out.push_back({id, {false, at, op.bytes.substr(at - op.offset, page_end - at)}});
          at = page_end;
        }
      }
    }
    return out;
  }
};

void PowerLossDisk::Record(Op op) {
  MutexLock lock(mu_);
  ops_.push_back(std::move(op));
}

bool PowerLossDisk::Relative(const fs::path& p, std::string& out) const {
  const fs::path rel = p.lexically_normal().lexically_relative(root_.lexically_normal());
  if (rel.empty() || rel.native().starts_with("..")) return false;
  out = rel == "." ? "" : rel.string();
  return true;
}

std::size_t PowerLossDisk::ops() const {
  MutexLock lock(mu_);
  return ops_.size();
}

void PowerLossDisk::Opened(const fs::path& path, Open how) {
  Op op{Kind::kOpen, {}, {}, how};
  if (Relative(path, op.path)) Record(std::move(op));
}
void PowerLossDisk::Wrote(const fs::path& path, std::uint64_t offset, std::string_view bytes) {
  Op op{Kind::kWrite, {}, {}, Open::kCreateOrKeep, offset, std::string(bytes)};
  if (Relative(path, op.path)) Record(std::move(op));
}
void PowerLossDisk::Truncated(const fs::path& path, std::uint64_t size) {
  Op op{Kind::kTruncate, {}, {}, Open::kCreateOrKeep, size};
  if (Relative(path, op.path)) Record(std::move(op));
}
void PowerLossDisk::SyncedData(const fs::path& path) {
  Op op{Kind::kSyncData};
  if (Relative(path, op.path)) Record(std::move(op));
}
void PowerLossDisk::SyncedDir(const fs::path& dir) {
  Op op{Kind::kSyncDir};
  if (Relative(dir, op.path) || dir.lexically_normal() == root_.lexically_normal()) Record(std::move(op));
}
void PowerLossDisk::Renamed(const fs::path& from, const fs::path& to) {
  Op op{Kind::kRename};
  if (Relative(from, op.path) && Relative(to, op.to)) Record(std::move(op));
}
void PowerLossDisk::Removed(const fs::path& path) {
  Op op{Kind::kRemove};
  if (Relative(path, op.path)) Record(std::move(op));
}

PowerLossDisk::Model PowerLossDisk::Replay(std::size_t n) const {
  MutexLock lock(mu_);
  Model m;
  for (std::size_t i = 0; i < n && i < ops_.size(); ++i) {
    const Op& op = ops_[i];
    auto named = m.names.find(op.path);
    switch (op.kind) {
      case Kind::kOpen:
        if (op.how == Open::kCreateNew || named == m.names.end()) {
          const int id = m.next_object++;
          m.objects[id];
          m.names[op.path] = id;
          m.pending_dir.push_back({Model::DirChange::kLink, op.path, {}, id});
        } else if (op.how == Open::kCreateOrTruncate) {
          m.objects[named->second].pending.push_back({true, 0, {}});
        }
        break;
      case Kind::kWrite:
        if (named != m.names.end()) m.objects[named->second].pending.push_back({false, op.offset, op.bytes});
        break;
      case Kind::kTruncate:
        if (named != m.names.end()) m.objects[named->second].pending.push_back({true, op.offset, {}});
        break;
      case Kind::kSyncData:
        if (named != m.names.end()) {
          Model::Object& obj = m.objects[named->second];
          for (const DataOp& d : obj.pending) Apply(obj.durable, d);
          obj.pending.clear();
        }
        break;
      case Kind::kSyncDir: {
        std::vector<Model::DirChange> still;
        for (const auto& c : m.pending_dir) {
          if (Parent(c.path) != op.path) {
            still.push_back(c);
            continue;
          }
          if (c.kind == Model::DirChange::kLink) m.durable[c.path] = c.object;
          if (c.kind == Model::DirChange::kUnlink) m.durable.erase(c.path);
          if (c.kind == Model::DirChange::kRename) {
            m.durable.erase(c.path);
            m.durable[c.to] = c.object;
          }
        }
        m.pending_dir = std::move(still);
        break;
      }
      case Kind::kRename:
        if (named != m.names.end()) {
          const int id = named->second;
          m.names.erase(named);
          m.names[op.to] = id;
          m.pending_dir.push_back({Model::DirChange::kRename, op.path, op.to, id});
        }
        break;
      case Kind::kRemove:
        if (named != m.names.end()) {
          m.names.erase(named);
          m.pending_dir.push_back({Model::DirChange::kUnlink, op.path, {}, -1});
        }
        break;
    }
  }
  return m;
}

std::string PowerLossDisk::Variant::Name() const {
  static constexpr const char* kData[] = {"no unsynced data", "all unsynced data", "only unsynced page",
                                          "all unsynced data but page"};
  std::string out = std::to_string(dir_changes) + " directory changes, " + kData[static_cast<int>(data)];
  if (data == Data::kOnlyPage || data == Data::kAllButPage) out += " " + std::to_string(page);
  return out;
}

std::vector<PowerLossDisk::Variant> PowerLossDisk::VariantsAt(std::size_t n) const {
  const Model m = Replay(n);
  const std::size_t pieces = m.Pieces().size();
  std::vector<Variant> out;
  for (std::size_t d = 0; d <= m.pending_dir.size(); ++d) {
    out.push_back({d, Variant::Data::kNone, 0});
    if (pieces == 0) continue;
    out.push_back({d, Variant::Data::kAll, 0});
    if (pieces == 1) continue;
    for (std::size_t p = 0; p < pieces; ++p) {
      out.push_back({d, Variant::Data::kOnlyPage, p});
      out.push_back({d, Variant::Data::kAllButPage, p});
    }
  }
  return out;
}

Status PowerLossDisk::Materialize(std::size_t n, const Variant& v, const fs::path& into) const {
  const Model m = Replay(n);
  std::map<std::string, int> names = m.durable;
  for (std::size_t i = 0; i < v.dir_changes && i < m.pending_dir.size(); ++i) {
    const auto& c = m.pending_dir[i];
    if (c.kind == Model::DirChange::kLink) names[c.path] = c.object;
    if (c.kind == Model::DirChange::kUnlink) names.erase(c.path);
    if (c.kind == Model::DirChange::kRename) {
      names.erase(c.path);
      names[c.to] = c.object;
    }
  }
  std::map<int, std::string> content;
  for (const auto& [id, obj] : m.objects) content[id] = obj.durable;
  const auto pieces = m.Pieces();
  for (std::size_t p = 0; p < pieces.size(); ++p) {
    const bool keep = v.data == Variant::Data::kAll || (v.data == Variant::Data::kOnlyPage && p == v.page) ||
                      (v.data == Variant::Data::kAllButPage && p != v.page);
    if (keep) Apply(content[pieces[p].object], pieces[p].op);
  }
  for (const auto& [rel, id] : names) {
    const fs::path path = into / rel;
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content[id].data(), static_cast<std::streamsize>(content[id].size()));
    if (!out) return IoError("cannot write " + path.string());
  }
  return Status::Ok();
}

}  // namespace cqrs::log::testing
