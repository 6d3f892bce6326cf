#include "parley/store/faulty_store.h"

#include <string>
#include <utility>

#include "parley/base/check.h"

namespace parley::store {

FaultyStore::FaultyStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {
  PARLEY_CHECK(inner_ != nullptr);
}

void FaultyStore::inject(std::uint64_t write, Fault fault) { armed_ = Armed{write, fault}; }

Status FaultyStore::begin_write() {
  if (crashed_) return crashed_status();
  ++writes_;
  const std::string at = "store write " + std::to_string(writes_);
  if (failing_since_) {
    return Status::unavailable("injected persistent failure (since store write " +
                               std::to_string(*failing_since_) + ")");
  }
  if (!armed_ || armed_->write != writes_) return Status::ok();
  switch (armed_->fault) {
    case Fault::kTransient:
      return Status::unavailable("injected transient failure at " + at);
    case Fault::kPersistent:
      failing_since_ = writes_;
      return Status::unavailable("injected persistent failure at " + at);
    case Fault::kCrash:
      crash();
      return crashed_status();
    case Fault::kCrashAfter:
      crash_after_write_ = true;
      return Status::ok();
  }
  return Status::internal("unknown fault");  // unreachable: the switch covers every Fault
}

template <typename T>
T FaultyStore::end_write(T result) {
  if (!crash_after_write_) return result;
  crash();
  return crashed_status();
}

void FaultyStore::crash() {
  crashed_ = true;
  crash_after_write_ = false;
  inner_.reset();  // as the process's connection dies with it
}

Status FaultyStore::crashed_status() const {
  return Status::unavailable("crashed (injected at store write " + std::to_string(writes_) + ")");
}

Status FaultyStore::check_alive() const { return crashed_ ? crashed_status() : Status::ok(); }

Status FaultyStore::apply(const std::vector<core::Record>& records) {
  PARLEY_RETURN_IF_ERROR(begin_write());
  return end_write(inner_->apply(records));
}

Result<std::vector<Status>> FaultyStore::apply_group(
    const std::vector<const std::vector<core::Record>*>& batches) {
  PARLEY_RETURN_IF_ERROR(begin_write());
  return end_write(inner_->apply_group(batches));
}

Status FaultyStore::put_peer(const core::Peer& peer) {
  PARLEY_RETURN_IF_ERROR(begin_write());
  return end_write(inner_->put_peer(peer));
}

Status FaultyStore::put_principal(const core::Principal& principal) {
  PARLEY_RETURN_IF_ERROR(begin_write());
  return end_write(inner_->put_principal(principal));
}

Status FaultyStore::put_line(const core::Line& line) {
  PARLEY_RETURN_IF_ERROR(begin_write());
  return end_write(inner_->put_line(line));
}

Status FaultyStore::remove_peer(std::string_view party) {
  PARLEY_RETURN_IF_ERROR(begin_write());
  return end_write(inner_->remove_peer(party));
}

Status FaultyStore::remove_principal(std::string_view id) {
  PARLEY_RETURN_IF_ERROR(begin_write());
  return end_write(inner_->remove_principal(id));
}

Status FaultyStore::remove_line(std::string_view id) {
  PARLEY_RETURN_IF_ERROR(begin_write());
  return end_write(inner_->remove_line(id));
}

Result<std::optional<core::MessageRecord>> FaultyStore::get_message(std::string_view id) {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->get_message(id);
}

Result<std::vector<core::MessageRecord>> FaultyStore::list_messages(const MessageQuery& query) {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->list_messages(query);
}

Result<std::vector<core::MessageRecord>> FaultyStore::replies_to(
    const std::vector<std::string>& ids) {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->replies_to(ids);
}

Result<core::Recovered> FaultyStore::recover(std::string_view peer) {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->recover(peer);
}

Result<std::optional<core::InclusionRecord>> FaultyStore::inclusion(std::string_view message_id) {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->inclusion(message_id);
}

Result<std::vector<core::PutRotation>> FaultyStore::rotations(std::string_view owner) {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->rotations(owner);
}

Result<std::vector<core::LogEntryView>> FaultyStore::log_entries(std::string_view owner,
                                                                 std::string_view peer,
                                                                 std::uint64_t from,
                                                                 std::size_t limit) {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->log_entries(owner, peer, from, limit);
}

Result<std::vector<core::HeadRecord>> FaultyStore::heads(std::string_view owner,
                                                         std::string_view peer) {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->heads(owner, peer);
}

Result<std::vector<core::PutEvidence>> FaultyStore::evidence() {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->evidence();
}

Result<std::vector<core::Peer>> FaultyStore::peers() {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->peers();
}

Result<std::vector<core::Principal>> FaultyStore::principals() {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->principals();
}

Result<std::optional<core::Principal>> FaultyStore::principal_by_token_hash(ByteView token_hash) {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->principal_by_token_hash(token_hash);
}

Result<std::vector<core::Line>> FaultyStore::lines() {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->lines();
}

Status FaultyStore::put_roster(std::string_view role, const std::vector<core::Shift>& shifts) {
  PARLEY_RETURN_IF_ERROR(begin_write());
  return end_write(inner_->put_roster(role, shifts));
}

Result<std::vector<core::Shift>> FaultyStore::roster() {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->roster();
}

Status FaultyStore::log_change(const core::DirectoryChange& change) {
  PARLEY_RETURN_IF_ERROR(begin_write());
  return end_write(inner_->log_change(change));
}

Result<std::vector<core::DirectoryChange>> FaultyStore::changes() {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->changes();
}

Result<std::vector<WitnessedCheckpoint>> FaultyStore::witnessed() {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->witnessed();
}

Result<bool> FaultyStore::put_witnessed(const WitnessedCheckpoint& view, std::uint64_t old_size) {
  PARLEY_RETURN_IF_ERROR(begin_write());
  return end_write(inner_->put_witnessed(view, old_size));
}

Status FaultyStore::put_split_view(const SplitViewRecord& split) {
  PARLEY_RETURN_IF_ERROR(begin_write());
  return end_write(inner_->put_split_view(split));
}

Result<std::vector<SplitViewRecord>> FaultyStore::split_views() {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->split_views();
}

Status FaultyStore::put_cosignature(const CosignatureRecord& cosignature) {
  PARLEY_RETURN_IF_ERROR(begin_write());
  return end_write(inner_->put_cosignature(cosignature));
}

Result<std::vector<CosignatureRecord>> FaultyStore::cosignatures() {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->cosignatures();
}

Status FaultyStore::put_forwarded_head(const ForwardedHead& head) {
  PARLEY_RETURN_IF_ERROR(begin_write());
  return end_write(inner_->put_forwarded_head(head));
}

Result<std::optional<ForwardedHead>> FaultyStore::forwarded_head(std::string_view origin,
                                                                 std::uint64_t size) {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->forwarded_head(origin, size);
}

Result<std::vector<ForwardedHead>> FaultyStore::forwarded_heads() {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->forwarded_heads();
}

Result<bool> FaultyStore::put_disclosure(const DisclosureRecord& d) {
  PARLEY_RETURN_IF_ERROR(begin_write());
  Result<bool> kept = inner_->put_disclosure(d);
  if (!kept.is_ok()) return end_write(kept.status());
  PARLEY_RETURN_IF_ERROR(end_write(Status::ok()));
  return kept;
}

Result<std::vector<DisclosureRecord>> FaultyStore::disclosures() {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->disclosures();
}

Status FaultyStore::append_events(std::vector<EventRecord>& events) {
  PARLEY_RETURN_IF_ERROR(begin_write());
  return end_write(inner_->append_events(events));
}

Result<EventPage> FaultyStore::events_after(std::uint64_t after, std::size_t limit) {
  PARLEY_RETURN_IF_ERROR(check_alive());
  return inner_->events_after(after, limit);
}

}  // namespace parley::store
