// AdReadHandler: the Read API's queries (reads.h) on the live read model and the event store.
//
// The rules every read follows: a retailer sees its own ads only (another's is "not found", never
// "forbidden": an id says nothing about who owns it); an admin sees any, and names the retailer
// of a listing or report; read-your-writes waits hold no thread; lists and histories are paged so
// that each page costs the same however long the list.
//
// Thread-safety: safe from any number of threads. The read side and the store must outlive it.
#pragma once

#include "ads/read/read_side.h"
#include "ads/read/reads.h"
#include "cqrs/store/event_store.h"

namespace adsd::ads {

class AdReadHandler final : public AdReads {
 public:
  AdReadHandler(const ReadSide& read_side, const cqrs::EventStore& store) : read_side_(read_side), store_(store) {}

  void Get(GetAd query, GetAdDone done) const override;
  ReadResult<AdPage> List(const ListAds& query) const override;
  ReadResult<AdHistory> History(const GetHistory& query) const override;
  ReadResult<DailyReport> Report(const GetDailyReport& query) const override;

 private:
  // The row as the query may see it, now: the ad, NotFound, Behind or Unavailable.
  ReadResult<AdRow> Answer(const GetAd& query) const;
  // The row as it stood at query.as_of, from the ad's stream.
  ReadResult<AdRow> AnswerAsOf(const GetAd& query) const;
  // Whether the read model shows what the query waits for (a row of another retailer counts as
  // shown: the answer is NotFound at once).
  bool Shows(const GetAd& query) const;

  const ReadSide& read_side_;
  const cqrs::EventStore& store_;
};

// The retailer a listing or report is about: the sender's own, or the one an admin names (which
// must be 1-128 bytes of UTF-8 text without control characters); `what` completes "an admin ...".
ReadResult<std::string> RetailerOf(const Sender& sender, const std::optional<std::string>& named,
                                   std::string_view what);

}  // namespace adsd::ads
