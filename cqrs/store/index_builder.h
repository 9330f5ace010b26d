// IndexBuilder: rebuilds the StreamIndex and the QueryIndex on a second thread while the log is being opened.
//
// Opening the log is one pass that reads, checks (CRC32C) and decodes every record; inserting each
// record into the stream index is random memory access that costs as much again. The builder lets
// the two overlap: the recovery callback copies what the index needs into a batch, and a worker
// thread applies full batches in order. Used by one opening thread; not otherwise thread-safe.
#pragma once

#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "cqrs/core/mutex.h"
#include "cqrs/log/record.h"
#include "cqrs/store/query_index.h"
#include "cqrs/store/stream_index.h"

namespace cqrs {

class IndexBuilder {
 public:
  // The indexes must outlive the builder.
  IndexBuilder(StreamIndex& index, QueryIndex& query_index);
  ~IndexBuilder();  // finishes like Finish()

  // Called for each recovered record, in log order.
  void Add(const log::RecordView& record);
  // Applies everything added and stops the worker. After this the index is complete.
  void Finish() EXCLUDES(mu_);

 private:
  struct Item {
    Position position;
    Uuid event_id;
    std::uint32_t name_offset;  // stream name, type and tag block, back to back in Batch::names
    std::uint32_t name_size;
    std::uint32_t type_size;
    std::uint32_t tag_block_size;
  };
  struct Batch {
    std::string names;  // per record: stream name, type, tag block
    std::vector<Item> items;
  };

  void Run() EXCLUDES(mu_);
  void Submit() EXCLUDES(mu_);

  StreamIndex& index_;
  QueryIndex& query_index_;
  Batch current_;  // the feeding thread's
  Mutex mu_;
  CondVar cv_;
  std::deque<Batch> queue_ GUARDED_BY(mu_);
  bool done_ GUARDED_BY(mu_) = false;
  std::thread worker_;
};

}  // namespace cqrs
