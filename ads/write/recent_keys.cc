#include "ads/write/recent_keys.h"

namespace adsd::ads {

RecentKeys::Seen RecentKeys::Remember(const std::string& ad_id, const std::string& request_hash) {
  const Clock::time_point now = Clock::now();
  cqrs::MutexLock lock(mu_);
  Expire(now);
  auto [it, inserted] = entries_.try_emplace(ad_id, Entry{request_hash, now});
  if (!inserted) return it->second.request_hash == request_hash ? Seen::kSameRequest : Seen::kOtherRequest;
  order_.emplace_back(now, ad_id);
  return Seen::kNew;
}

void RecentKeys::Expire(Clock::time_point now) {
  while (!order_.empty() && (order_.front().first + ttl_ < now || entries_.size() > capacity_)) {
    auto it = entries_.find(order_.front().second);
    // Only the entry this place was made for.
    if (it != entries_.end() && it->second.at == order_.front().first) entries_.erase(it);
    order_.pop_front();
  }
}

}  // namespace adsd::ads
