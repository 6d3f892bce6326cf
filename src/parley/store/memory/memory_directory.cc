// The memory store (memory_store.h): the directory (peers, principals, lines, the roster and
// its changes), what witnesses and observers keep, and the events.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "parley/store/columns.h"
#include "parley/store/memory/memory_store.h"
#include "parley/store/memory/tables.h"

namespace parley::store {

using memory_detail::Tables;
using memory_detail::token_key;

Status MemoryStore::put_peer(const core::Peer& peer) {
  // Kept as it reads back from its encoding, which is what SQLite stores.
  Result<wire::Bundle> check = wire::parse_bundle(wire::encode_bundle(peer.bundle));
  if (!check.is_ok()) return check.status().with_context("peer '" + peer.bundle.party + "'");
  std::lock_guard lock(disk_->mutex);
  disk_->tables.peers[peer.bundle.party] = std::move(check).value();
  return Status::ok();
}

Result<std::vector<core::Peer>> MemoryStore::peers() {
  std::lock_guard lock(disk_->mutex);
  std::vector<core::Peer> out;
  for (const auto& [party, bundle] : disk_->tables.peers) out.push_back(core::Peer{bundle});
  return out;
}

Status MemoryStore::put_principal(const core::Principal& principal) {
  std::lock_guard lock(disk_->mutex);
  Tables& t = disk_->tables;
  if (!principal.token_hash.empty()) {
    auto owner = t.by_token.find(token_key(principal.token_hash));
    if (owner != t.by_token.end() && owner->second != principal.id) {
      return Status::already_exists("principal " + principal.id +
                                    ": token hash already belongs to another principal");
    }
  }
  if (auto old = t.principals.find(principal.id); old != t.principals.end()) {
    t.by_token.erase(token_key(old->second.token_hash));
  }
  t.principals[principal.id] = principal;
  if (!principal.token_hash.empty()) t.by_token[token_key(principal.token_hash)] = principal.id;
  return Status::ok();
}

Result<std::vector<core::Principal>> MemoryStore::principals() {
  std::lock_guard lock(disk_->mutex);
  std::vector<core::Principal> out;
  for (const auto& [id, p] : disk_->tables.principals) out.push_back(p);
  return out;
}

Result<std::optional<core::Principal>> MemoryStore::principal_by_token_hash(ByteView token_hash) {
  std::lock_guard lock(disk_->mutex);
  const Tables& t = disk_->tables;
  if (token_hash.empty()) return std::optional<core::Principal>();
  auto it = t.by_token.find(token_key(token_hash));
  if (it == t.by_token.end()) return std::optional<core::Principal>();
  return std::optional<core::Principal>(t.principals.at(it->second));
}

Status MemoryStore::put_line(const core::Line& line) {
  std::lock_guard lock(disk_->mutex);
  disk_->tables.lines[line.id] = line;
  return Status::ok();
}

Result<std::vector<core::Line>> MemoryStore::lines() {
  std::lock_guard lock(disk_->mutex);
  std::vector<core::Line> out;
  for (const auto& [id, line] : disk_->tables.lines) out.push_back(line);
  return out;
}

Status MemoryStore::remove_peer(std::string_view party) {
  std::lock_guard lock(disk_->mutex);
  if (disk_->tables.peers.erase(std::string(party)) == 0) {
    return Status::not_found("no peer " + std::string(party));
  }
  return Status::ok();
}

Status MemoryStore::remove_principal(std::string_view id) {
  std::lock_guard lock(disk_->mutex);
  Tables& t = disk_->tables;
  const auto it = t.principals.find(std::string(id));
  if (it == t.principals.end()) return Status::not_found("no principal " + std::string(id));
  if (!it->second.token_hash.empty()) t.by_token.erase(token_key(it->second.token_hash));
  t.principals.erase(it);
  return Status::ok();
}

Status MemoryStore::remove_line(std::string_view id) {
  std::lock_guard lock(disk_->mutex);
  if (disk_->tables.lines.erase(std::string(id)) == 0) {
    return Status::not_found("no line " + std::string(id));
  }
  return Status::ok();
}

Status MemoryStore::put_roster(std::string_view role, const std::vector<core::Shift>& shifts) {
  std::lock_guard lock(disk_->mutex);
  auto& roster = disk_->tables.roster;
  std::map<std::pair<std::string, Time>, core::Shift> kept;
  for (auto& [key, shift] : roster) {
    if (shift.role != role) kept.emplace(key, shift);
  }
  for (const core::Shift& shift : shifts) {
    if (shift.role != role) {
      return Status::invalid_argument("shift of role " + shift.role + " given for role " +
                                      std::string(role));
    }
    if (!kept.emplace(std::make_pair(shift.role, shift.from), shift).second) {
      return Status::already_exists("two shifts of role " + shift.role + " start together");
    }
  }
  roster = std::move(kept);
  return Status::ok();
}

Result<std::vector<core::Shift>> MemoryStore::roster() {
  std::lock_guard lock(disk_->mutex);
  std::vector<core::Shift> out;
  for (const auto& [key, shift] : disk_->tables.roster) out.push_back(shift);
  return out;
}

Status MemoryStore::log_change(const core::DirectoryChange& change) {
  std::lock_guard lock(disk_->mutex);
  disk_->tables.changes.push_back(change);
  return Status::ok();
}

Result<std::vector<core::DirectoryChange>> MemoryStore::changes() {
  std::lock_guard lock(disk_->mutex);
  return disk_->tables.changes;
}

Result<std::vector<WitnessedCheckpoint>> MemoryStore::witnessed() {
  std::lock_guard lock(disk_->mutex);
  std::vector<WitnessedCheckpoint> out;
  for (const auto& [origin, view] : disk_->tables.witnessed) out.push_back(view);
  return out;
}

Result<bool> MemoryStore::put_witnessed(const WitnessedCheckpoint& view, std::uint64_t old_size) {
  if (view.size > kStoredIntMax || old_size > kStoredIntMax) {
    return Status::invalid_argument("a witnessed size above 2^63 - 1");
  }
  std::lock_guard lock(disk_->mutex);
  auto& witnessed = disk_->tables.witnessed;
  const auto it = witnessed.find(view.origin);
  const std::uint64_t stored = it == witnessed.end() ? 0 : it->second.size;
  if (stored != old_size) return false;
  witnessed[view.origin] = view;
  return true;
}

Status MemoryStore::put_split_view(const SplitViewRecord& split) {
  std::lock_guard lock(disk_->mutex);
  auto& splits = disk_->tables.split_views;
  const bool known = std::any_of(splits.begin(), splits.end(), [&](const SplitViewRecord& s) {
    return s.origin == split.origin && s.witnessed == split.witnessed && s.offered == split.offered;
  });
  if (!known) splits.push_back(split);
  return Status::ok();
}

Result<std::vector<SplitViewRecord>> MemoryStore::split_views() {
  std::lock_guard lock(disk_->mutex);
  return disk_->tables.split_views;
}

Status MemoryStore::put_cosignature(const CosignatureRecord& cosignature) {
  if (cosignature.size > kStoredIntMax) {
    return Status::invalid_argument("a cosigned size above 2^63 - 1");
  }
  std::lock_guard lock(disk_->mutex);
  const auto key = std::make_pair(cosignature.origin, cosignature.witness);
  auto& kept = disk_->tables.cosignatures;
  const auto it = kept.find(key);
  if (it == kept.end() || it->second.size <= cosignature.size) kept[key] = cosignature;
  return Status::ok();
}

Result<std::vector<CosignatureRecord>> MemoryStore::cosignatures() {
  std::lock_guard lock(disk_->mutex);
  std::vector<CosignatureRecord> out;
  for (const auto& [key, c] : disk_->tables.cosignatures) out.push_back(c);
  return out;
}

Status MemoryStore::put_forwarded_head(const ForwardedHead& head) {
  if (head.size > kStoredIntMax) return Status::invalid_argument("a head size above 2^63 - 1");
  std::lock_guard lock(disk_->mutex);
  disk_->tables.forwarded.try_emplace({head.origin, head.size}, head);
  return Status::ok();
}

Result<std::optional<ForwardedHead>> MemoryStore::forwarded_head(std::string_view origin,
                                                                 std::uint64_t size) {
  std::lock_guard lock(disk_->mutex);
  const auto& kept = disk_->tables.forwarded;
  const auto it = kept.find({std::string(origin), size});
  if (it == kept.end()) return std::optional<ForwardedHead>();
  return std::optional<ForwardedHead>(it->second);
}

Result<std::vector<ForwardedHead>> MemoryStore::forwarded_heads() {
  std::lock_guard lock(disk_->mutex);
  std::vector<ForwardedHead> out;
  for (const auto& [key, head] : disk_->tables.forwarded) {
    if (!out.empty() && out.back().origin == head.origin) {
      out.back() = head;  // sizes ascend within an origin: the last is the largest
    } else {
      out.push_back(head);
    }
  }
  return out;
}

Result<bool> MemoryStore::put_disclosure(const DisclosureRecord& d) {
  if (d.index > kStoredIntMax || d.size > kStoredIntMax) {
    return Status::invalid_argument("a disclosed index or size above 2^63 - 1");
  }
  std::lock_guard lock(disk_->mutex);
  auto& kept = disk_->tables.disclosures;
  if (std::any_of(kept.begin(), kept.end(),
                  [&](const DisclosureRecord& k) { return k.id == d.id; })) {
    return false;
  }
  kept.push_back(d);
  return true;
}

Result<std::vector<DisclosureRecord>> MemoryStore::disclosures() {
  std::lock_guard lock(disk_->mutex);
  return disk_->tables.disclosures;
}

Result<std::unique_ptr<Store>> open_memory_store(std::shared_ptr<MemoryStore::Disk> disk) {
  return std::unique_ptr<Store>(std::make_unique<MemoryStore>(std::move(disk)));
}

Status MemoryStore::append_events(std::vector<EventRecord>& events) {
  std::lock_guard lock(disk_->mutex);
  Tables& t = disk_->tables;
  // Ids are never reused: the newest id given plus one (the store keeps at least that one).
  std::uint64_t next = t.last_event;
  for (EventRecord& e : events) {
    e.id = ++next;
    t.events.push_back(e);
  }
  t.last_event = next;
  while (t.events.size() > kEventsKept) t.events.pop_front();
  return Status::ok();
}

Result<EventPage> MemoryStore::events_after(std::uint64_t after, std::size_t limit) {
  std::lock_guard lock(disk_->mutex);
  const std::deque<EventRecord>& kept = disk_->tables.events;
  EventPage page;
  if (kept.empty()) return page;
  page.first = kept.front().id;
  page.last = kept.back().id;
  for (const EventRecord& e : kept) {
    if (page.events.size() >= limit) break;
    if (e.id > after) page.events.push_back(e);
  }
  return page;
}

}  // namespace parley::store
