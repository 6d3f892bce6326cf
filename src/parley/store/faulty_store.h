// FaultyStore: a Store that passes every call to another one, except that its N-th write
// fails or "crashes" (LevelDB's fault-injection Env, Beast's test::fail_count). With it a
// test covers every point where the disk can fail: run a scenario once to count its N
// writes (writes()), then N times with a crash at write k, and N times with write k failing.
//
// What counts as a write: every call of apply, apply_group, put_peer, put_principal,
// put_line, remove_peer, remove_principal, remove_line, put_roster and log_change, numbered
// from 1 in the order made, whatever it holds (an empty batch too) and however it ends
// (refused, failed). Reads are not writes. After a crash nothing more is counted.
//
// A crash models the process dying: the inner store (and with it the connection or the
// MemoryStore handle) is dropped, and every later call, reads included, is kUnavailable.
// The harness then opens a new store on the same durable state (the SQLite file, the
// MemoryStore::Disk) as a restarted gateway would. Not thread-safe, like Store.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "parley/store/store.h"

namespace parley::store {

enum class Fault {
  kTransient,   // the write fails (kUnavailable) and applies nothing; later writes pass
  kPersistent,  // the write and every later one fail (kUnavailable), applying nothing; reads pass
  kCrash,       // the write is not applied; then the store is dead (see above)
  kCrashAfter,  // the write is applied (durable) but the caller is told kUnavailable, and
                // the store is dead: a crash between the fsync and its acknowledgment
};

class FaultyStore final : public Store {
 public:
  // Wraps `inner` (never null) with no fault armed.
  explicit FaultyStore(std::unique_ptr<Store> inner);

  // Arms `fault` at write number `write` (1 is the first write of this store; a number
  // already passed never fires). Replaces a fault armed before.
  void inject(std::uint64_t write, Fault fault);
  // The writes made so far (see above).
  std::uint64_t writes() const { return writes_; }
  bool crashed() const { return crashed_; }

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
  struct Armed {
    std::uint64_t write = 0;
    Fault fault = Fault::kTransient;
  };
  // Counts the write about to be made: OK to make it, else the failure to return instead.
  Status begin_write();
  // The write's own result, or, if it was to crash once made, the crash.
  template <typename T>
  T end_write(T result);
  void crash();
  Status crashed_status() const;
  // kUnavailable once crashed (for reads).
  Status check_alive() const;

  std::unique_ptr<Store> inner_;  // null once crashed
  std::optional<Armed> armed_;
  std::uint64_t writes_ = 0;
  std::optional<std::uint64_t> failing_since_;  // a persistent failure began at this write
  bool crash_after_write_ = false;
  bool crashed_ = false;
};

}  // namespace parley::store
