#include "cqrs/store/index_builder.h"

#include "cqrs/core/thread_name.h"
#include "cqrs/log/record_codec.h"

namespace cqrs {

namespace {
constexpr std::size_t kBatchRecords = 16 * 1024;
// Bounded hand-off: the reader stays at most this many batches ahead of the worker.
constexpr std::size_t kMaxQueuedBatches = 4;
}  // namespace

IndexBuilder::IndexBuilder(StreamIndex& index, QueryIndex& query_index) : index_(index), query_index_(query_index) {
  current_.items.reserve(kBatchRecords);
  worker_ = std::thread([this] {
    NameThisThread("index-build");
    Run();
  });
}

IndexBuilder::~IndexBuilder() { Finish(); }

void IndexBuilder::Add(const log::RecordView& r) {
  current_.items.push_back({r.position, r.event_id, static_cast<std::uint32_t>(current_.names.size()),
                            static_cast<std::uint32_t>(r.stream.size()), static_cast<std::uint32_t>(r.type.size()),
                            static_cast<std::uint32_t>(r.tag_block.size())});
  current_.names.append(r.stream);
  current_.names.append(r.type);
  current_.names.append(r.tag_block);
  if (current_.items.size() >= kBatchRecords) Submit();
}

void IndexBuilder::Submit() {
  MutexLock lock(mu_);
  while (queue_.size() >= kMaxQueuedBatches) cv_.Wait(mu_);
  queue_.push_back(std::move(current_));
  lock.Unlock();
  cv_.SignalAll();
  current_ = Batch{};
  current_.items.reserve(kBatchRecords);
}

void IndexBuilder::Finish() {
  if (!worker_.joinable()) return;
  if (!current_.items.empty()) Submit();
  {
    MutexLock lock(mu_);
    done_ = true;
  }
  cv_.SignalAll();
  worker_.join();
}

void IndexBuilder::Run() {
  while (true) {
    Batch batch;
    {
      MutexLock lock(mu_);
      while (queue_.empty() && !done_) cv_.Wait(mu_);
      if (queue_.empty()) return;
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    cv_.SignalAll();
    const std::string_view names(batch.names);
    for (const Item& it : batch.items) {
      index_.Add(names.substr(it.name_offset, it.name_size), it.position, it.event_id);
      query_index_.AddType(it.position, names.substr(it.name_offset + it.name_size, it.type_size));
      if (it.tag_block_size != 0) {
        const auto block = names.substr(it.name_offset + it.name_size + it.type_size, it.tag_block_size);
        for (const std::string& tag : log::DecodeTags(block)) query_index_.AddTag(it.position, tag);
      }
    }
  }
}

}  // namespace cqrs
