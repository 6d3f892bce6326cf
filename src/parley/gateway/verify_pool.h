// VerifyPool: the threads that precheck peers' transactions (issue 15, "Verification on every
// core"). The node asks (core::Precheck: a transaction's signature checks and seal openings,
// core/precheck.h); the driver hands the items here; the pool spreads them over its workers,
// one item at a time, and calls back once all of a request's items are done. The node stays
// on its one thread: the driver feeds it the answer (core::Prechecked) on that thread.
//
// Each item runs core::run_precheck, a pure function: the workers share nothing but the
// queue. libsodium is thread-safe once initialised (crypto::init, called here first).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "parley/core/precheck.h"
#include "parley/crypto/facts.h"

namespace parley::gateway {

class VerifyPool {
 public:
  // What holds of a request's items, merged (core::run_precheck of each).
  using Done = std::function<void(crypto::Facts facts)>;

  // Starts `threads` workers; 0: one per core (std::thread::hardware_concurrency, at least 1).
  explicit VerifyPool(std::size_t threads = 0);
  // stop().
  ~VerifyPool();
  VerifyPool(const VerifyPool&) = delete;
  VerifyPool& operator=(const VerifyPool&) = delete;

  // Runs core::run_precheck on each of `items`, in any order, on the workers. `done` runs
  // once, on the worker that finishes the last item (the caller hands its result to its own
  // thread), or at once on this thread if `items` is empty. After stop(): nothing runs, and
  // `done` is never called. Thread-safe.
  void submit(std::vector<core::PrecheckItem> items, Done done);

  // Stops the workers: an item being run finishes (and its request's `done` runs if it was
  // the last); every item not started is dropped, its request's `done` never called. Returns
  // once the workers have ended. Idempotent; called by the pool's owner (the destructor does),
  // never from a `done`.
  void stop();

  std::size_t threads() const { return threads_; }

 private:
  struct Job;
  using Task = std::pair<std::shared_ptr<Job>, std::size_t>;  // a job's item, by index

  void work();

  std::size_t threads_ = 0;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Task> queue_;  // guarded by mutex_
  bool stopping_ = false;   // guarded by mutex_
  std::vector<std::thread> workers_;
};

}  // namespace parley::gateway
