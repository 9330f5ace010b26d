// Encoding and decoding of one log record (frame + body). See format.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cqrs/core/sha256.h"
#include "cqrs/core/status.h"
#include "cqrs/log/record.h"

namespace cqrs::log {

// Size of the encoded record (frame included) for `draft`.
std::size_t EncodedSize(const RecordDraft& draft);

// Checks the limits of record.h. Ok or kInvalidArgument naming the field.
Status ValidateDraft(const RecordDraft& draft);

// Appends the encoded record to `out` and returns its chained hash.
Sha256Digest EncodeRecord(const RecordDraft& draft, Position position, const Sha256Digest& prev_hash, std::string& out);

enum class DecodeOutcome {
  kOk,
  kIncomplete,  // fewer bytes available than the frame announces (possibly a torn tail)
  kBadFrame,    // zero or impossible length, CRC mismatch, or inconsistent field lengths
};

struct Decoded {
  DecodeOutcome outcome = DecodeOutcome::kBadFrame;
  std::size_t record_bytes = 0;  // frame + body, when kOk
  RecordView view;               // when kOk; views point into the input bytes
  const char* detail = "";       // why, when not kOk
  bool starts_batch = false;     // the frame's batch-start mark (format.h), whatever the outcome
};

// Decodes the record at the start of `bytes`. Checks the CRC; does not check the hash chain.
Decoded DecodeRecord(std::string_view bytes);

// The chain step for an already-encoded body: SHA-256(prev || body without its hash field).
Sha256Digest ChainHash(const Sha256Digest& prev, std::string_view body);

// The tags of an encoded tag block (RecordView::tag_block), in the order they were written.
// The block was checked when the record was decoded.
std::vector<std::string> DecodeTags(std::string_view tag_block);

// The body bytes of a record whose frame starts at `record` (no checks).
std::string_view BodyOf(std::string_view record);

}  // namespace cqrs::log
