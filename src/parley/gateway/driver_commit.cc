// The driver's commits (driver.h, Driver::commit): a Commit's batches applied in one store
// transaction, kept open on SQLite until the node has handled the outcome so that the events it
// publishes are made durable by the same fsync; what a failed commit does; the checkpoints of
// the heads a commit moved, for the observers; the search index, written after the commits.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "parley/gateway/driver.h"

namespace parley::gateway {

void Driver::commit(core::Commit& commit) {
  std::vector<const std::vector<core::Record>*> batches;
  batches.reserve(commit.batches.size());
  for (const core::CommitBatch& b : commit.batches) batches.push_back(&b.records);
  Result<std::vector<Status>> outcome = store_->apply_group_open(batches);
  if (!outcome.is_ok()) {
    return commit_failed(outcome.status(),
                         fmt::format("make {} batches durable", commit.batches.size()));
  }
  for (const Status& status : *outcome) {
    if (!status.is_ok()) spdlog::warn("store refused a batch: {}", status.to_string());
  }
  const bool stores_messages = std::ranges::any_of(commit.batches, [](const core::CommitBatch& b) {
    return std::ranges::any_of(b.records, [](const core::Record& r) {
      return std::holds_alternative<core::PutMessage>(r);
    });
  });
  if (stores_messages) schedule_search_index();
  const auto id = commit.id;
  commit_open_ = store_->group_open();
  if (commit_open_) {
    after_commit_.push_back([this, done = std::move(commit), statuses = *outcome]() {
      submit_checkpoints(done, statuses);
    });
  } else {
    submit_checkpoints(commit, *outcome);
  }
  feed(core::Committed{id, std::move(*outcome)});
}

void Driver::finish_commit() {
  commit_open_ = false;
  std::vector<store::EventRecord> events = std::move(events_pending_);
  events_pending_.clear();
  if (const Status done = store_->finish_group(events); !done.is_ok()) {
    after_commit_.clear();
    return commit_failed(done, "commit");
  }
  send_events(events, true);
  std::vector<std::function<void()>> work = std::move(after_commit_);
  after_commit_.clear();
  for (std::function<void()>& f : work) {
    if (failed_) return;
    f();
  }
}

void Driver::commit_failed(const Status& status, const std::string& what) {
  // Batches we cannot make durable must never be acknowledged or receipted, and the node
  // cannot un-see them: stop here, recover from the store on restart (or, on a shared store,
  // step down and let the active of the lease recover; on a full disk, hold until there is
  // room and recover then: lease.h).
  if (store_failure_) {
    failed_ = true;
    boost::asio::post(io_, [handler = store_failure_, status]() { handler(status); });
    return;
  }
  spdlog::critical("store failed to {}: {}; stopping", what, status.to_string());
  std::_Exit(70);
}

namespace {
// A commit's messages wait this long for the search index, so that one transaction indexes
// all that arrived meanwhile (one at a time, each FLASH message would cost an index
// transaction of its own), and at most this many are indexed per transaction.
constexpr std::chrono::milliseconds kSearchIndexDelay(500);
constexpr std::size_t kSearchIndexBatch = 128;
}  // namespace

void Driver::schedule_search_index() {
  if (search_scheduled_ || stopping_) return;
  search_scheduled_ = true;
  search_timer_.expires_after(kSearchIndexDelay);
  // Fired outside any feed of the node, so never inside an open commit.
  search_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) index_search();
  });
}

void Driver::index_search() {
  search_scheduled_ = false;
  if (stopping_ || failed_) return;
  const Result<bool> more = store_->index_search(kSearchIndexBatch);
  if (!more.is_ok()) {
    // Nothing is lost: a search (and the next start) indexes what is left first. A store that
    // fails here fails the next commit too, which stops the gateway.
    spdlog::warn("search index: {}", more.status().to_string());
    return;
  }
  if (*more) {
    // At once, on the timer (not a bare post): stop() and the destructor cancel it.
    search_scheduled_ = true;
    search_timer_.expires_after(std::chrono::milliseconds(0));
    search_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) index_search();
    });
  }
}

std::vector<wire::Bundle> Driver::observers_of(const std::string& peer) const {
  std::vector<wire::Bundle> observers;
  for (const core::Line& line : lines_) {
    if (line.remote.party != peer) continue;
    for (const wire::Bundle& b : pinned_) {
      const bool named = std::ranges::find(line.observers, b.party) != line.observers.end();
      const bool known = std::any_of(observers.begin(), observers.end(),
                                     [&](const wire::Bundle& o) { return o.party == b.party; });
      if (named && !known) observers.push_back(b);
    }
  }
  return observers;
}

void Driver::submit_checkpoints(const core::Commit& commit, const std::vector<Status>& outcome) {
  const std::string& me = home_.config.party;
  for (std::size_t i = 0; i < commit.batches.size() && i < outcome.size(); ++i) {
    if (!outcome[i].is_ok()) continue;
    for (const core::Record& record : commit.batches[i].records) {
      const auto* head = std::get_if<core::PutHead>(&record);
      if (head == nullptr) continue;
      if (head->owner == me) {
        const std::vector<wire::Bundle> observers = observers_of(head->peer);
        if (!observers.empty())
          submitter_->head_moved(head->peer, head->size, head->root, observers);
      } else if (head->peer == me && head->receipt) {
        // A head of the peer's log that we countersigned: forwarded to the same observers.
        const std::vector<wire::Bundle> observers = observers_of(head->owner);
        if (!observers.empty()) {
          forwarder_->countersigned(head->owner, head->size, *head->receipt, observers);
        }
      }
    }
  }
}

}  // namespace parley::gateway
