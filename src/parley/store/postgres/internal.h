// The PostgreSQL store's inside, shared by its files (not for use outside store/postgres/):
//   postgres_store.cc  statements, messages, apply and the group commit
//   recovery.cc        what a node starts from (Store::recover), reading only what is pending
//   transcript.cc      the transcript: log entries, heads, inclusion proofs, evidence
//   tables.cc          peers, principals and lines
//   lease.cc           the lease of standby gateways and the fencing of writes
//   schema.cc          the schema's migrations and opening a store (open_postgres_store)
// libpq's header stays in store/postgres/ (CMakeLists.txt).
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <libpq-fe.h>

#include "parley/base/json.h"
#include "parley/store/columns.h"
#include "parley/store/postgres/libpq.h"
#include "parley/store/search.h"
#include "parley/store/store.h"

namespace parley::store::postgres_detail {

// The encodings of stored columns, shared with the SQLite store (store/columns.h).
using columns::encode_hashes;
using columns::encode_string_array;
using columns::fits_int64;
using columns::kMessageColumns;
using columns::kMessageSelect;
using columns::kPrecedenceRank;
using columns::parse_hashes;
using columns::parse_string_array;
using columns::to_digest;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConn = std::unique_ptr<PGconn, ConnDeleter>;

// The first line of a libpq message (they end in a newline and may go on).
std::string first_line(const char* text);

// The parameters of one statement. Text goes in text format, bytes in binary format (bytea
// needs no escaping then). PostgreSQL's text cannot hold a NUL character, and libpq would cut
// a text parameter at one: such a value is refused (kInvalidArgument), never truncated.
class Params {
 public:
  void text(std::string_view v) {
    if (v.find('\0') != std::string_view::npos) bad_ = true;
    add(std::string(v), 0);
  }
  void opt_text(const std::optional<std::string>& v) {
    if (v) {
      text(*v);
    } else {
      null();
    }
  }
  void bytes(ByteView v) { add(std::string(v.begin(), v.end()), 1); }
  void integer(std::int64_t v) { add(std::to_string(v), 0); }
  void time(Time t) { integer(unix_ms(t)); }
  void opt_time(const std::optional<Time>& t) {
    if (t) {
      time(*t);
    } else {
      null();
    }
  }
  void null() {
    values_.emplace_back();
    nulls_.push_back(true);
    formats_.push_back(0);
  }

  bool has_nul() const { return bad_; }
  int size() const { return static_cast<int>(values_.size()); }
  // Pointers into this object: valid while it lives and is not changed.
  std::vector<const char*> pointers() const {
    std::vector<const char*> out;
    for (std::size_t i = 0; i < values_.size(); ++i) {
      out.push_back(nulls_[i] ? nullptr : values_[i].c_str());
    }
    return out;
  }
  std::vector<int> lengths() const {
    std::vector<int> out;
    for (const std::string& v : values_) out.push_back(static_cast<int>(v.size()));
    return out;
  }
  const std::vector<int>& formats() const { return formats_; }

 private:
  void add(std::string v, int format) {
    values_.push_back(std::move(v));
    nulls_.push_back(false);
    formats_.push_back(format);
  }
  std::vector<std::string> values_;
  std::vector<bool> nulls_;
  std::vector<int> formats_;
  bool bad_ = false;
};

// One row of a result in text format.
class Row {
 public:
  Row(const PGresult* r, int row) : r_(r), row_(row) {}
  bool is_null(int i) const { return PQgetisnull(r_, row_, i) != 0; }
  std::string text(int i) const {
    return std::string(PQgetvalue(r_, row_, i), static_cast<std::size_t>(PQgetlength(r_, row_, i)));
  }
  std::optional<std::string> opt_text(int i) const {
    if (is_null(i)) return std::nullopt;
    return text(i);
  }
  std::int64_t integer(int i) const {
    std::int64_t v = 0;
    const char* p = PQgetvalue(r_, row_, i);
    std::from_chars(p, p + PQgetlength(r_, row_, i), v);
    return v;
  }
  Bytes bytes(int i) const {
    std::size_t n = 0;
    unsigned char* raw =
        PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row_, i)), &n);
    if (raw == nullptr) return {};
    Bytes out(raw, raw + n);
    PQfreemem(raw);
    return out;
  }
  Time time(int i) const { return time_from_unix_ms(integer(i)); }
  std::optional<Time> opt_time(int i) const {
    if (is_null(i)) return std::nullopt;
    return time(i);
  }

 private:
  const PGresult* r_;
  int row_;
};

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(PgConn conn) : conn_(std::move(conn)) {}
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  Status apply(const std::vector<core::Record>& records) override;
  Result<std::vector<Status>> apply_group(
      const std::vector<const std::vector<core::Record>*>& batches) override;
  Result<std::optional<core::MessageRecord>> get_message(std::string_view id) override;
  Result<std::vector<core::MessageRecord>> list_messages(const MessageQuery& query) override;
  Result<std::vector<core::MessageRecord>> replies_to(const std::vector<std::string>& ids) override;
  Result<core::Recovered> recover(std::string_view peer) override;
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
  Result<std::optional<core::InclusionRecord>> inclusion(std::string_view message_id) override;
  Result<std::vector<core::PutRotation>> rotations(std::string_view owner) override;
  Result<std::vector<core::LogEntryView>> log_entries(std::string_view owner, std::string_view peer,
                                                      std::uint64_t from,
                                                      std::size_t limit) override;
  Result<std::vector<core::HeadRecord>> heads(std::string_view owner,
                                              std::string_view peer) override;
  Result<std::vector<core::PutEvidence>> evidence() override;
  bool shared() const override { return true; }
  Result<std::optional<std::uint64_t>> take_lease(std::string_view holder, Duration ttl) override;
  Result<bool> renew_lease(std::string_view holder, std::uint64_t epoch, Duration ttl) override;
  Status release_lease(std::string_view holder, std::uint64_t epoch) override;
  void fence(std::uint64_t epoch) override { fenced_epoch_ = epoch; }

  // A statement without parameters (BEGIN, COMMIT, a migration); kUnavailable on failure.
  Status exec(const char* sql);
  // Runs `sql` as a prepared statement (prepared on first use, then cached by its text).
  // On failure, sqlstate_ and constraint_ tell why (for the callers that map a conflict).
  Result<PgResult> run(const std::string& sql, const Params& params);

 private:
  Status error_of(const PGresult* r, std::string_view what);
  Status set_session_timeouts(Duration ttl);
  // BEGIN, then the fence check (lease.cc): a fenced store's write transactions start so.
  Status begin();
  Status check_fence();
  // DELETE `sql` ($1/?1: `id`) of one row: kNotFound, naming `what`, if there was none.
  Status remove_row(const char* sql, std::string_view id, std::string_view what);
  Status apply_record(const core::Record& record);
  Status commit();
  Status rollback_and(Status status);
  Status put_message(const core::MessageRecord& m);
  Status update_message(const core::UpdateMessage& u);
  Status put_receipt(const std::string& tx, const std::string& receipt);
  Status put_message_receipt(const std::string& id, const std::string& receipt);
  Result<std::optional<int>> update_receipt(const core::UpdateMessage& u);
  Status put_log_entry(const core::LogEntry& e);
  Status put_head(const core::PutHead& h);
  Status put_inclusion(const core::PutInclusion& i);
  Status put_evidence(const core::PutEvidence& e);
  Status put_rotation(const core::PutRotation& r);
  // Our own rotations in our log for `peer` (owner us, peer `peer`), by index.
  Result<std::vector<core::PutRotation>> own_rotations_for(std::string_view peer);
  // The rotations rows WHERE `where` (a condition on $1, bound to `value`), by peer and index.
  Result<std::vector<core::PutRotation>> rotation_rows(std::string_view where,
                                                       std::string_view value);
  Status recover_ledger(std::string_view peer, core::Recovered& out);
  Result<std::map<std::string, bool>> peer_lines(std::string_view peer);
  Result<std::optional<core::RecoveredSeqs>> inbound_seqs(const std::string& line,
                                                          std::string_view peer, bool whole_line);
  Result<std::optional<core::RecoveredHead>> query_head(const std::string& sql,
                                                        const Params& params);
  Result<std::vector<core::MessageRecord>> query_messages(const std::string& sql,
                                                          const Params& params);

  PgConn conn_;
  std::map<std::string, std::string> prepared_;  // SQL text -> statement name
  std::string sqlstate_;
  std::string constraint_;
  std::optional<std::uint64_t> fenced_epoch_;  // set by fence(): every write checks the lease
};

}  // namespace parley::store::postgres_detail
