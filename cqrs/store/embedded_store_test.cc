// The embedded store against the EventStore contract.
#include "cqrs/store/embedded_store.h"

#include "cqrs/store/event_store_contract.h"
#include "cqrs/store/testing/dcb_contract.h"

namespace cqrs {
namespace {

class EmbeddedStorage : public Storage {
 public:
  std::unique_ptr<EventStore> Open() override {
    auto s = OpenEmbeddedEventStore({dir_.path()});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::unique_ptr<SnapshotStore> OpenSnapshots() override {
    auto s = OpenSqliteSnapshotStore(dir_.path() / "snapshots.db");
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

 private:
  testing::TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(Embedded, EventStoreContract,
                         ::testing::Values(StorageFactory([] { return std::make_unique<EmbeddedStorage>(); })),
                         [](const auto&) { return std::string("Log"); });

}  // namespace
}  // namespace cqrs
