// MemoryStore: the whole Store in memory, with SQLite's semantics (the same refusals, queries
// and recovery; one conformance suite runs against both). For the simulator and for fault
// tests, where a store is created and reopened thousands of times and a file system would
// only slow them down.
//
// Durability is modelled, not provided: what a store has committed lives in a Disk, a
// shareable object that outlives any one MemoryStore. A "crash" is dropping the store
// object (FaultyStore does that); a new MemoryStore on the same Disk recovers exactly what
// was committed, as a restarted gateway reopens its SQLite file. Each apply() is committed
// at once and atomically: all of its records or none. Several MemoryStores may share one
// Disk, each like a connection to the same file: each sees what the others committed, and
// they may be used from different threads (the Disk serialises them).
#pragma once

#include <memory>

#include "parley/store/store.h"

namespace parley::store {

class MemoryStore final : public Store {
 public:
  // The committed state, kept apart from any store object so that it survives one.
  class Disk;
  // An empty Disk, as a new SQLite file.
  static std::shared_ptr<Disk> new_disk();

  // A store on `disk` (never null), seeing what was committed to it.
  explicit MemoryStore(std::shared_ptr<Disk> disk);
  ~MemoryStore() override;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  Status apply(const std::vector<core::Record>& records) override;
  Result<std::vector<Status>> apply_group(
      const std::vector<const std::vector<core::Record>*>& batches) override;
  Result<std::optional<core::MessageRecord>> get_message(std::string_view id) override;
  Result<std::vector<core::MessageRecord>> list_messages(const MessageQuery& query) override;
  Result<std::vector<core::MessageRecord>> replies_to(const std::vector<std::string>& ids) override;
  Result<core::Recovered> recover(std::string_view peer) override;
  Result<std::optional<core::InclusionRecord>> inclusion(std::string_view message_id) override;
  Result<std::vector<core::PutRotation>> rotations(std::string_view owner) override;
  Result<std::vector<core::LogEntryView>> log_entries(std::string_view owner, std::string_view peer,
                                                      std::uint64_t from,
                                                      std::size_t limit) override;
  Result<std::vector<core::HeadRecord>> heads(std::string_view owner,
                                              std::string_view peer) override;
  Result<std::vector<core::PutEvidence>> evidence() override;
  Status put_peer(const core::Peer& peer) override;
  Result<std::vector<core::Peer>> peers() override;
  Status put_principal(const core::Principal& principal) override;
  Result<std::vector<core::Principal>> principals() override;
  Result<std::optional<core::Principal>> principal_by_token_hash(ByteView token_hash) override;
  Status put_line(const core::Line& line) override;
  Result<std::vector<core::Line>> lines() override;
  Status remove_peer(std::string_view party) override;
  Status remove_principal(std::string_view id) override;
  Status remove_line(std::string_view id) override;
  Status put_roster(std::string_view role, const std::vector<core::Shift>& shifts) override;
  Result<std::vector<core::Shift>> roster() override;
  Status log_change(const core::DirectoryChange& change) override;
  Result<std::vector<core::DirectoryChange>> changes() override;
  Result<std::vector<WitnessedCheckpoint>> witnessed() override;
  Result<bool> put_witnessed(const WitnessedCheckpoint& view, std::uint64_t old_size) override;
  Status put_split_view(const SplitViewRecord& split) override;
  Result<std::vector<SplitViewRecord>> split_views() override;
  Status put_cosignature(const CosignatureRecord& cosignature) override;
  Result<std::vector<CosignatureRecord>> cosignatures() override;
  Status put_forwarded_head(const ForwardedHead& head) override;
  Result<std::optional<ForwardedHead>> forwarded_head(std::string_view origin,
                                                      std::uint64_t size) override;
  Result<std::vector<ForwardedHead>> forwarded_heads() override;
  Result<bool> put_disclosure(const DisclosureRecord& d) override;
  Result<std::vector<DisclosureRecord>> disclosures() override;
  Status append_events(std::vector<EventRecord>& events) override;
  Result<EventPage> events_after(std::uint64_t after, std::size_t limit) override;

 private:
  std::shared_ptr<Disk> disk_;
};

// A MemoryStore on `disk` (never null), as open_sqlite_store opens a file; never fails.
Result<std::unique_ptr<Store>> open_memory_store(std::shared_ptr<MemoryStore::Disk> disk);

}  // namespace parley::store
