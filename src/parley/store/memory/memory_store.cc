#include "parley/store/memory/memory_store.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "parley/base/check.h"
#include "parley/store/columns.h"
#include "parley/store/memory/tables.h"
#include "parley/store/search.h"

namespace parley::store {
namespace {

using core::Direction;
using core::MessageRecord;

using memory_detail::fits_int64;
using memory_detail::LogKey;
using memory_detail::SeqKey;
using memory_detail::StoredHead;
using memory_detail::Tables;

// The fields of a message's sort key (store.h MessageKey), by reference: sorting copies no id.
auto key_fields(const MessageKey& k) { return std::tie(k.created, k.seq, k.id); }
auto key_fields(const MessageRecord& m) { return std::tie(m.created, m.seq, m.id); }

// True if `a` sorts before `b` in `order` (store.h MessageOrder); each a MessageKey or a
// MessageRecord.
template <typename A, typename B>
bool before(MessageOrder order, const A& a, const B& b) {
  if (order == MessageOrder::kPrecedence && a.precedence != b.precedence) {
    return precedence_rank(a.precedence) < precedence_rank(b.precedence);
  }
  return key_fields(b) < key_fields(a);
}

// True if every word of `words` is among `indexed` (sorted).
bool has_words(const std::vector<std::string>& indexed, const std::vector<std::string>& words) {
  return std::all_of(words.begin(), words.end(), [&indexed](const std::string& w) {
    return std::binary_search(indexed.begin(), indexed.end(), w);
  });
}

// True if `m` is one of the messages `query` asks for (all but its order and limit).
bool selected(const Tables& t, const MessageQuery& query, const MessageRecord& m) {
  const auto among = [](const std::vector<std::string>& set, const std::string& v) {
    return set.empty() || std::find(set.begin(), set.end(), v) != set.end();
  };
  if (query.direction && m.direction != *query.direction) return false;
  if (!among(query.lines, m.line) || !among(query.types, m.type)) return false;
  if (!query.include_acks && core::is_protocol_type(m.type)) return false;
  if (query.precedence && m.precedence != *query.precedence) return false;
  if (query.state && m.state != *query.state) return false;
  if (query.broadcast && m.broadcast != *query.broadcast) return false;
  if (!query.include_refused_inbound && m.direction == Direction::kInbound &&
      m.state == core::MessageState::kRefused) {
    return false;
  }
  if (query.from &&
      (m.from.party != query.from->party ||
       (!query.from->principal.empty() && m.from.principal != query.from->principal))) {
    return false;
  }
  if ((query.since && m.created < *query.since) || (query.until && m.created >= *query.until)) {
    return false;
  }
  if (query.after && !before(query.order, *query.after, m)) return false;
  if (query.words.empty()) return true;
  const auto indexed = t.words.find(m.id);
  return indexed != t.words.end() && has_words(indexed->second, query.words);
}

// Changes to the tables that can be undone back to a savepoint, as SQLite's transaction
// and savepoints: a refused batch leaves nothing behind. Rolls everything back unless
// committed.
class Transaction {
 public:
  explicit Transaction(Tables& tables) : t_(tables) {}
  ~Transaction() { rollback_to(0); }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  std::size_t savepoint() const { return undo_.size(); }
  void rollback_to(std::size_t point) {
    while (undo_.size() > point) {
      undo_.back()();
      undo_.pop_back();
    }
  }
  void commit() { undo_.clear(); }

  Status apply(const core::Record& record) {
    return std::visit(
        [this](const auto& r) {
          using R = std::decay_t<decltype(r)>;
          if constexpr (std::is_same_v<R, core::PutMessage>) {
            return put_message(r.message);
          } else if constexpr (std::is_same_v<R, core::UpdateMessage>) {
            return update_message(r);
          } else if constexpr (std::is_same_v<R, core::LogEntry>) {
            return put_log_entry(r);
          } else if constexpr (std::is_same_v<R, core::PutHead>) {
            return put_head(r);
          } else if constexpr (std::is_same_v<R, core::PutInclusion>) {
            return put_inclusion(r);
          } else if constexpr (std::is_same_v<R, core::PutEvidence>) {
            return put_evidence(r);
          } else {
            static_assert(std::is_same_v<R, core::PutRotation>);
            return put_rotation(r);
          }
        },
        record);
  }

 private:
  Status put_message(const MessageRecord& m) {
    if (!fits_int64(m.seq)) {
      return Status::invalid_argument("message " + m.id + ": seq out of range");
    }
    if (t_.messages.contains(m.id)) {
      return Status::already_exists("message " + m.id + " is already stored");
    }
    SeqKey key{m.line, m.direction, m.seq};
    if (t_.by_seq.contains(key)) {
      return Status::already_exists("message " + std::to_string(m.seq) + " on line '" + m.line +
                                    "' (" + std::string(core::direction_name(m.direction)) +
                                    ") is already stored");
    }
    if (m.receipt) {
      PARLEY_RETURN_IF_ERROR(m.tx ? put_receipt(m.id, *m.tx, *m.receipt)
                                  : put_message_receipt(m.id, *m.receipt));
    }
    MessageRecord stored = m;
    stored.receipt.reset();    // in receipts, once per tx
    stored.log_index.reset();  // read-only: derived from the log on every read
    t_.messages.emplace(m.id, std::move(stored));
    t_.by_seq.emplace(key, m.id);
    std::vector<std::string> words = search_words(searchable_text(m.content));
    std::sort(words.begin(), words.end());
    words.erase(std::unique(words.begin(), words.end()), words.end());
    t_.words.emplace(m.id, std::move(words));
    undo_.emplace_back([this, id = m.id, key = std::move(key)] {
      t_.messages.erase(id);
      t_.by_seq.erase(key);
      t_.words.erase(id);
    });
    return Status::ok();
  }

  Status update_message(const core::UpdateMessage& u) {
    auto it = t_.messages.find(u.id);
    if (it == t_.messages.end()) return Status::not_found("message " + u.id + " is not stored");
    undo_.emplace_back([this, old = it->second] { t_.messages[old.id] = old; });
    MessageRecord& m = it->second;
    const int receipted =
        t_.receipted.contains(u.id) ? columns::kReceiptOfTx : columns::kNotReceipted;
    PARLEY_RETURN_IF_ERROR(
        columns::update_receipt(
            u, receipted, m.tx,
            [this, &u](const std::string& tx, const std::string& receipt) {
              return put_receipt(u.id, tx, receipt);
            },
            [this, &u](const std::string& receipt) { return put_message_receipt(u.id, receipt); })
            .status());
    // An unset field keeps the stored value (SQLite: COALESCE).
    m.state = u.state;
    if (u.delivered_at) m.delivered_at = u.delivered_at;
    if (u.acknowledged_at) m.acknowledged_at = u.acknowledged_at;
    if (u.acknowledged_by) m.acknowledged_by = u.acknowledged_by;
    if (u.ack_id) m.ack_id = u.ack_id;
    if (u.tx) m.tx = u.tx;
    if (u.refusal) m.refusal = u.refusal;
    if (u.cancelled_at) m.cancelled_at = u.cancelled_at;
    if (u.cancelled_by) m.cancelled_by = u.cancelled_by;
    return Status::ok();
  }

  // The receipt of transaction `tx`, stored once, and message `id` marked as having it;
  // kAlreadyExists if the transaction already has another receipt (the first stays).
  Status put_receipt(const std::string& id, const std::string& tx, const std::string& receipt) {
    if (auto it = t_.receipts.find(tx); it != t_.receipts.end()) {
      if (it->second != receipt) {
        return Status::already_exists("transaction " + tx + " already has another receipt");
      }
    } else {
      t_.receipts.emplace(tx, receipt);
      undo_.emplace_back([this, tx] { t_.receipts.erase(tx); });
    }
    if (t_.receipted.insert(id).second) {
      undo_.emplace_back([this, id] { t_.receipted.erase(id); });
    }
    return Status::ok();
  }

  // The receipt of message `id` that has no tx, kept as its own (SQLite's message_receipts).
  Status put_message_receipt(const std::string& id, const std::string& receipt) {
    auto it = t_.message_receipts.find(id);
    std::optional<std::string> old;
    if (it != t_.message_receipts.end()) old = it->second;
    t_.message_receipts[id] = receipt;
    undo_.emplace_back([this, id, old] {
      if (old) {
        t_.message_receipts[id] = *old;
      } else {
        t_.message_receipts.erase(id);
      }
    });
    if (t_.receipted.erase(id) > 0) {
      undo_.emplace_back([this, id] { t_.receipted.insert(id); });
    }
    return Status::ok();
  }

  Status put_log_entry(const core::LogEntry& e) {
    if (!fits_int64(e.index)) return Status::invalid_argument("log index out of range");
    LogKey key{e.owner, e.peer, e.index};
    if (t_.log.contains(key)) {
      return Status::already_exists("entry " + std::to_string(e.index) + " of the log of '" +
                                    e.owner + "' for '" + e.peer + "' is already stored");
    }
    t_.log.emplace(key, e);
    // A message's log_index is its lowest entry (as the SQL stores read it).
    const auto known = t_.log_index.find(e.message_id);
    std::optional<std::uint64_t> before;
    if (known != t_.log_index.end()) before = known->second;
    if (!before || e.index < *before) t_.log_index[e.message_id] = e.index;
    undo_.emplace_back([this, key = std::move(key), id = e.message_id, before] {
      t_.log.erase(key);
      if (before) {
        t_.log_index[id] = *before;
      } else {
        t_.log_index.erase(id);
      }
    });
    return Status::ok();
  }

  // Insert only: another at its index, or with its n, of the same log is kAlreadyExists.
  Status put_rotation(const core::PutRotation& r) {
    if (!fits_int64(r.index) || !fits_int64(r.n) || r.n < 1 || r.epoch < 2) {
      return Status::invalid_argument("rotation " + r.id + ": a value the store cannot hold");
    }
    LogKey key{r.owner, r.peer, r.index};
    bool taken = t_.rotations.contains(key);
    for (const auto& [k, stored] : t_.rotations) {
      taken = taken || (stored.owner == r.owner && stored.peer == r.peer && stored.n == r.n);
    }
    if (taken) {
      return Status::already_exists("rotation " + std::to_string(r.n) + " (entry " +
                                    std::to_string(r.index) + ") of the log of '" + r.owner +
                                    "' for '" + r.peer + "' is already stored");
    }
    t_.rotations.emplace(key, r);
    undo_.emplace_back([this, key = std::move(key)] { t_.rotations.erase(key); });
    return Status::ok();
  }

  Status put_head(const core::PutHead& h) {
    if (!fits_int64(h.size)) return Status::invalid_argument("head size out of range");
    LogKey key{h.owner, h.peer, h.size};
    auto it = t_.heads.find(key);
    if (it == t_.heads.end()) {
      t_.heads.emplace(key, StoredHead{h.root, h.sth, h.receipt, h.frontier});
      undo_.emplace_back([this, key = std::move(key)] { t_.heads.erase(key); });
      return Status::ok();
    }
    // A countersigned head is never replaced (evidence is written once).
    if (it->second.receipt) return Status::ok();
    undo_.emplace_back([this, key, old = it->second] { t_.heads[key] = old; });
    StoredHead& stored = it->second;
    stored.root = h.root;
    stored.sth = h.sth;
    stored.receipt = h.receipt;
    if (h.frontier) stored.frontier = h.frontier;
    return Status::ok();
  }

  Status put_inclusion(const core::PutInclusion& i) {
    if (!fits_int64(i.size) || i.index >= i.size) {
      return Status::invalid_argument("inclusion of message " + i.message_id + ": index " +
                                      std::to_string(i.index) + " not below size " +
                                      std::to_string(i.size));
    }
    auto it = t_.inclusion.find(i.message_id);
    if (it == t_.inclusion.end()) {
      undo_.emplace_back([this, id = i.message_id] { t_.inclusion.erase(id); });
    } else {
      undo_.emplace_back([this, id = i.message_id, old = it->second] { t_.inclusion[id] = old; });
    }
    t_.inclusion[i.message_id] = core::InclusionRecord{i.index, i.size, i.root, i.proof};
    return Status::ok();
  }

  // Kept forever, once: the same record again is ignored, and the same evidence (peer,
  // kind, both heads) under another id is one more sighting of the first row.
  Status put_evidence(const core::PutEvidence& e) {
    if (t_.evidence.contains(e.id)) return Status::ok();
    for (auto& [id, stored] : t_.evidence) {
      if (std::tie(stored.peer, stored.kind, stored.sth_a, stored.sth_b) !=
          std::tie(e.peer, e.kind, e.sth_a, e.sth_b)) {
        continue;
      }
      undo_.emplace_back([this, id = id, old = stored] { t_.evidence[id] = old; });
      ++stored.seen;
      stored.last_seen = std::max(stored.last_seen.value_or(stored.at), e.at);
      return Status::ok();
    }
    core::PutEvidence first = e;
    first.seen = 1;
    first.last_seen = e.at;
    t_.evidence.emplace(e.id, std::move(first));
    undo_.emplace_back([this, id = e.id] { t_.evidence.erase(id); });
    return Status::ok();
  }

  Tables& t_;
  std::vector<std::function<void()>> undo_;
};

// A stored message as read: with its receipt and its log index.
MessageRecord with_log_index(const Tables& t, const MessageRecord& m) {
  MessageRecord out = m;
  if (m.tx && t.receipted.contains(m.id)) {
    if (auto it = t.receipts.find(*m.tx); it != t.receipts.end()) out.receipt = it->second;
  } else if (auto it = t.message_receipts.find(m.id); it != t.message_receipts.end()) {
    out.receipt = it->second;
  }
  if (auto it = t.log_index.find(m.id); it != t.log_index.end()) out.log_index = it->second;
  return out;
}

// The lines of `peer`, each with whether all of its messages are the peer's: its configured
// lines (all of their messages), and any other line with messages stored with it as the peer
// (only those messages). As SqliteStore::peer_lines.
std::map<std::string, bool> peer_lines(const Tables& t, std::string_view peer) {
  std::map<std::string, bool> lines;
  for (const auto& [id, line] : t.lines) {
    if (line.remote.party == peer) lines[id] = true;
  }
  for (const auto& [id, m] : t.messages) {
    if (m.peer == peer) lines.emplace(m.line, false);
  }
  return lines;
}

// The seqs of `line` in `direction`, ascending, only those with `peer` unless `whole_line`.
std::vector<std::uint64_t> seqs_of(const Tables& t, const std::string& line, Direction direction,
                                   std::string_view peer, bool whole_line) {
  std::vector<std::uint64_t> out;
  for (auto it = t.by_seq.lower_bound(SeqKey{line, direction, 0});
       it != t.by_seq.end() && std::get<0>(it->first) == line &&
       std::get<1>(it->first) == direction;
       ++it) {
    if (whole_line || t.messages.find(it->second)->second.peer == peer) {
      out.push_back(std::get<2>(it->first));
    }
  }
  return out;
}

// The inbound seqs of a line as a watermark and the seqs above it, the same numbers
// SqliteStore::inbound_seqs computes (a seq 0, never valid on the wire, is kept in `above`).
std::optional<core::RecoveredSeqs> inbound_seqs(std::vector<std::uint64_t> seqs) {
  if (seqs.empty()) return std::nullopt;
  core::RecoveredSeqs out;
  const bool zero = seqs.front() == 0;
  if (zero) seqs.erase(seqs.begin());
  // Every seq in 1..n is stored iff the k-th smallest is k; the first k-th smallest that
  // is not k starts the seqs above the watermark.
  std::size_t k = 0;
  while (k < seqs.size() && seqs[k] == k + 1) ++k;
  out.watermark = k;
  out.above.assign(seqs.begin() + static_cast<std::ptrdiff_t>(k), seqs.end());
  if (zero) out.above.insert(out.above.begin(), 0);
  return out;
}

void recover_lines(const Tables& t, std::string_view peer, core::Recovered& out) {
  for (const auto& [line, whole_line] : peer_lines(t, peer)) {
    const std::vector<std::uint64_t> sent =
        seqs_of(t, line, Direction::kOutbound, peer, whole_line);
    if (!sent.empty()) out.last_outbound_seq[line] = sent.back();
    auto seqs = inbound_seqs(seqs_of(t, line, Direction::kInbound, peer, whole_line));
    if (seqs) out.inbound_seqs[line] = std::move(*seqs);
  }
}

// The pending messages of `peer` (stored with it, or on a line configured for it): outbound
// ones unreceipted or awaiting an ack, inbound ones awaiting our ack.
void recover_pending(const Tables& t, std::string_view peer, core::Recovered& out) {
  std::set<std::string, std::less<>> configured;
  for (const auto& [id, line] : t.lines) {
    if (line.remote.party == peer) configured.insert(id);
  }
  for (const auto& [id, m] : t.messages) {
    if (m.peer != peer && !configured.contains(m.line)) continue;
    if (m.direction == Direction::kInbound) {
      // Awaiting an ack: the receiving node watches its deadline.
      if (m.needs_ack && !m.acknowledged_at &&
          (m.state == core::MessageState::kDelivered || m.state == core::MessageState::kOverdue)) {
        out.inbound_unacknowledged.push_back(with_log_index(t, m));
      }
      continue;
    }
    if (!t.receipted.contains(m.id) && !t.message_receipts.contains(m.id)) {
      out.unreceipted.push_back(with_log_index(t, m));
    }
    // A refused message is final, as an expired or a cancelled one: no ack is awaited.
    if (m.needs_ack && !m.acknowledged_at && m.state != core::MessageState::kExpired &&
        m.state != core::MessageState::kRefused && m.state != core::MessageState::kCancelled) {
      out.unacknowledged.push_back(with_log_index(t, m));
    }
  }
  std::sort(out.unreceipted.begin(), out.unreceipted.end(),
            [](const MessageRecord& a, const MessageRecord& b) {
              return std::tie(a.seq, a.line) < std::tie(b.seq, b.line);
            });
  const auto by_created = [](const MessageRecord& a, const MessageRecord& b) {
    return std::tie(a.created, a.seq, a.line) < std::tie(b.created, b.seq, b.line);
  };
  std::sort(out.unacknowledged.begin(), out.unacknowledged.end(), by_created);
  std::sort(out.inbound_unacknowledged.begin(), out.inbound_unacknowledged.end(), by_created);
}

core::RecoveredHead recovered_head(const LogKey& key, const StoredHead& h) {
  return {std::get<2>(key), h.root, h.sth, h.receipt};
}

// Our log for `peer` is the entries and heads with peer = `peer` (and another owner); the
// peer's log for us has owner = `peer`.
bool ours(const LogKey& key, std::string_view peer) {
  return std::get<1>(key) == peer && std::get<0>(key) != peer;
}

// Whether `size` is to replace `head` as the one with the highest size so far.
bool higher(const std::optional<core::RecoveredHead>& head, std::uint64_t size) {
  return !head || size > head->size;
}

// The heads of our log for `peer`: the latest countersigned one, the later ones pending
// (by size), and the peer's latest head we countersigned.
void recover_heads(const Tables& t, std::string_view peer, core::RecoveredLedger& l) {
  for (const auto& [key, h] : t.heads) {
    if (ours(key, peer) && h.receipt && higher(l.countersigned, std::get<2>(key))) {
      l.countersigned = recovered_head(key, h);
    }
    if (std::get<0>(key) == peer && h.receipt && higher(l.peer_head, std::get<2>(key))) {
      l.peer_head = recovered_head(key, h);
    }
  }
  const std::uint64_t c = l.countersigned ? l.countersigned->size : 0;
  for (const auto& [key, h] : t.heads) {
    if (ours(key, peer) && !h.receipt && std::get<2>(key) > c) {
      l.pending.push_back(recovered_head(key, h));
    }
  }
  std::stable_sort(l.pending.begin(), l.pending.end(),
                   [](const auto& a, const auto& b) { return a.size < b.size; });
}

// The frontier's base, the latest countersigned size at or below every unreceipted entry
// (FLASH may have overtaken an older one) with its compact range; then the leaves after it.
Status recover_tail(const Tables& t, std::string_view peer, const core::Recovered& recovered,
                    core::RecoveredLedger& l) {
  std::uint64_t lowest = l.log_size;
  for (const MessageRecord& m : recovered.unreceipted) {
    // A cancelled entry is never sent: no proof of it is ever needed.
    if (m.log_index && m.state != core::MessageState::kCancelled) {
      lowest = std::min(lowest, *m.log_index);
    }
  }
  const std::uint64_t c = l.countersigned ? l.countersigned->size : 0;
  std::optional<std::uint64_t> base;
  for (const auto& [key, h] : t.heads) {
    const std::uint64_t size = std::get<2>(key);
    if (ours(key, peer) && h.receipt && h.frontier && size <= std::min(lowest, c) &&
        (!base || size > *base)) {
      base = size;
      l.base_nodes = *h.frontier;
    }
  }
  l.base_size = base.value_or(0);
  std::vector<const core::LogEntry*> tail;
  for (const auto& [key, entry] : t.log) {
    if (ours(key, peer) && entry.index >= l.base_size) tail.push_back(&entry);
  }
  std::stable_sort(tail.begin(), tail.end(),
                   [](const auto* a, const auto* b) { return a->index < b->index; });
  for (const core::LogEntry* entry : tail) {
    if (entry->index != l.base_size + l.tail.size()) {
      return Status::data_loss("the log for '" + std::string(peer) + "' has a gap or a bad " +
                               "leaf at index " + std::to_string(entry->index));
    }
    l.tail.push_back(entry->leaf_hash);
  }
  return Status::ok();
}

// The rotations of `owner`'s logs, by peer then index (as SQLite's ORDER BY peer, idx).
std::vector<core::PutRotation> rotations_of(const Tables& t, std::string_view owner) {
  std::vector<core::PutRotation> out;
  for (const auto& [key, r] : t.rotations) {
    if (std::get<0>(key) == owner) out.push_back(r);
  }
  return out;
}

// As SqliteStore::recover_ledger.
Status recover_ledger(const Tables& t, std::string_view peer, core::Recovered& out) {
  core::RecoveredLedger& l = out.ledger;
  for (const auto& [key, entry] : t.log) {
    if (ours(key, peer)) l.log_size = std::max(l.log_size, std::get<2>(key) + 1);
  }
  recover_heads(t, peer, l);
  return recover_tail(t, peer, out, l);
}

}  // namespace

std::shared_ptr<MemoryStore::Disk> MemoryStore::new_disk() { return std::make_shared<Disk>(); }

MemoryStore::MemoryStore(std::shared_ptr<Disk> disk) : disk_(std::move(disk)) {
  PARLEY_CHECK(disk_ != nullptr);
}

MemoryStore::~MemoryStore() = default;

Status MemoryStore::apply(const std::vector<core::Record>& records) {
  std::lock_guard lock(disk_->mutex);
  Transaction tx(disk_->tables);
  for (const core::Record& record : records) {
    PARLEY_RETURN_IF_ERROR(tx.apply(record));  // the transaction rolls back on the way out
  }
  tx.commit();
  return Status::ok();
}

Result<std::vector<Status>> MemoryStore::apply_group(
    const std::vector<const std::vector<core::Record>*>& batches) {
  std::lock_guard lock(disk_->mutex);
  Transaction tx(disk_->tables);
  std::vector<Status> outcome(batches.size());
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const std::size_t savepoint = tx.savepoint();
    for (const core::Record& record : *batches[i]) {
      Status status = tx.apply(record);
      if (status.is_ok()) continue;
      if (!is_batch_refusal(status)) return status;  // the whole group rolls back
      outcome[i] = std::move(status);
      tx.rollback_to(savepoint);  // this batch alone
      break;
    }
  }
  tx.commit();
  return outcome;
}

Result<std::optional<core::MessageRecord>> MemoryStore::get_message(std::string_view id) {
  std::lock_guard lock(disk_->mutex);
  const Tables& t = disk_->tables;
  auto it = t.messages.find(id);
  if (it == t.messages.end()) return std::optional<MessageRecord>();
  return std::optional<MessageRecord>(with_log_index(t, it->second));
}

Result<std::vector<core::MessageRecord>> MemoryStore::list_messages(const MessageQuery& query) {
  std::lock_guard lock(disk_->mutex);
  const Tables& t = disk_->tables;
  std::vector<const MessageRecord*> found;
  for (auto it = t.messages.lower_bound(query.id_prefix);
       it != t.messages.end() && it->first.starts_with(query.id_prefix); ++it) {
    if (selected(t, query, it->second)) found.push_back(&it->second);
  }
  std::sort(found.begin(), found.end(), [&query](const MessageRecord* a, const MessageRecord* b) {
    return before(query.order, *a, *b);
  });
  if (found.size() > query.limit) found.resize(query.limit);
  std::vector<MessageRecord> out;
  out.reserve(found.size());
  for (const MessageRecord* m : found) out.push_back(with_log_index(t, *m));
  return out;
}

Result<std::vector<core::MessageRecord>> MemoryStore::replies_to(
    const std::vector<std::string>& ids) {
  if (ids.size() > kRepliesIdsMax) {
    return Status::invalid_argument("more than " + std::to_string(kRepliesIdsMax) + " ids");
  }
  std::lock_guard lock(disk_->mutex);
  const Tables& t = disk_->tables;
  const std::set<std::string, std::less<>> wanted(ids.begin(), ids.end());
  std::vector<const MessageRecord*> found;
  for (const auto& [id, m] : t.messages) {
    if (m.reply_to && wanted.contains(*m.reply_to)) found.push_back(&m);
  }
  std::sort(found.begin(), found.end(), [](const MessageRecord* a, const MessageRecord* b) {
    return std::tie(a->created, a->id) < std::tie(b->created, b->id);
  });
  std::vector<MessageRecord> out;
  out.reserve(found.size());
  for (const MessageRecord* m : found) out.push_back(with_log_index(t, *m));
  return out;
}

Result<core::Recovered> MemoryStore::recover(std::string_view peer) {
  std::lock_guard lock(disk_->mutex);
  const Tables& t = disk_->tables;
  core::Recovered out;
  recover_lines(t, peer, out);
  recover_pending(t, peer, out);
  PARLEY_RETURN_IF_ERROR(recover_ledger(t, peer, out));
  out.peer_rotations = rotations_of(t, peer);
  for (const auto& [key, r] : t.rotations) {
    // A log for `peer` that it does not own is ours (the store is one party's).
    if (std::get<1>(key) == peer && std::get<0>(key) != peer) out.own_rotations.push_back(r);
  }
  return out;
}

Result<std::vector<core::PutRotation>> MemoryStore::rotations(std::string_view owner) {
  std::lock_guard lock(disk_->mutex);
  return rotations_of(disk_->tables, owner);
}

Result<std::optional<core::InclusionRecord>> MemoryStore::inclusion(std::string_view message_id) {
  std::lock_guard lock(disk_->mutex);
  const Tables& t = disk_->tables;
  auto it = t.inclusion.find(message_id);
  if (it == t.inclusion.end()) return std::optional<core::InclusionRecord>();
  return std::optional<core::InclusionRecord>(it->second);
}

Result<std::vector<core::LogEntryView>> MemoryStore::log_entries(std::string_view owner,
                                                                 std::string_view peer,
                                                                 std::uint64_t from,
                                                                 std::size_t limit) {
  std::lock_guard lock(disk_->mutex);
  const Tables& t = disk_->tables;
  std::vector<core::LogEntryView> out;
  if (!fits_int64(from)) return out;
  for (auto it = t.log.lower_bound(LogKey{owner, peer, from});
       it != t.log.end() && out.size() < limit && std::get<0>(it->first) == owner &&
       std::get<1>(it->first) == peer;
       ++it) {
    // An entry whose message or rotation is not stored is left out (as SQLite's).
    core::LogEntryView e{it->second.index, it->second.message_id, "", {}};
    if (auto m = t.messages.find(e.message_id); m != t.messages.end()) {
      e.envelope = m->second.envelope;
    } else if (auto r = t.rotations.find(it->first);
               r != t.rotations.end() && r->second.id == e.message_id) {
      e.envelope = r->second.statement;
      e.rotation = true;
    } else {
      continue;
    }
    if (auto i = t.inclusion.find(e.message_id); i != t.inclusion.end()) e.inclusion = i->second;
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<core::HeadRecord>> MemoryStore::heads(std::string_view owner,
                                                         std::string_view peer) {
  std::lock_guard lock(disk_->mutex);
  const Tables& t = disk_->tables;
  std::vector<core::HeadRecord> out;
  for (auto it = t.heads.lower_bound(LogKey{owner, peer, 0});
       it != t.heads.end() && std::get<0>(it->first) == owner && std::get<1>(it->first) == peer;
       ++it) {
    out.push_back({std::get<2>(it->first), it->second.root, it->second.sth, it->second.receipt,
                   it->second.frontier});
  }
  return out;
}

Result<std::vector<core::PutEvidence>> MemoryStore::evidence() {
  std::lock_guard lock(disk_->mutex);
  std::vector<core::PutEvidence> out;
  for (const auto& [id, e] : disk_->tables.evidence) out.push_back(e);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.at, a.id) < std::tie(b.at, b.id);
  });
  return out;
}

}  // namespace parley::store
