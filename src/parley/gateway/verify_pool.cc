#include "parley/gateway/verify_pool.h"

#include <algorithm>
#include <atomic>

#include "parley/base/check.h"

namespace parley::gateway {

struct VerifyPool::Job {
  std::vector<core::PrecheckItem> items;
  std::vector<crypto::Facts> facts;  // one per item: each written by the one worker that ran it
  std::atomic<std::size_t> left{0};
  Done done;
};

VerifyPool::VerifyPool(std::size_t threads) {
  PARLEY_CHECK(crypto::init().is_ok());  // before any worker calls libsodium
  threads_ = threads != 0 ? threads : std::max(1U, std::thread::hardware_concurrency());
  workers_.reserve(threads_);
  for (std::size_t i = 0; i < threads_; ++i) workers_.emplace_back([this] { work(); });
}

VerifyPool::~VerifyPool() { stop(); }

void VerifyPool::submit(std::vector<core::PrecheckItem> items, Done done) {
  if (items.empty()) {
    done(crypto::Facts());
    return;
  }
  auto job = std::make_shared<Job>();
  job->facts.resize(items.size());
  job->left = items.size();
  job->items = std::move(items);
  job->done = std::move(done);
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    for (std::size_t i = 0; i < job->items.size(); ++i) queue_.emplace_back(job, i);
  }
  ready_.notify_all();
}

void VerifyPool::stop() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    queue_.clear();  // dropped: their jobs never complete, their `done` never runs
  }
  ready_.notify_all();
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  workers_.clear();
}

void VerifyPool::work() {
  for (;;) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    Job& job = *task.first;
    job.facts[task.second] = core::run_precheck(job.items[task.second]);
    // The last item's worker sees every other's facts: fetch_sub orders their writes before.
    if (job.left.fetch_sub(1, std::memory_order_acq_rel) != 1) continue;
    crypto::Facts merged;
    for (crypto::Facts& facts : job.facts) merged.merge(std::move(facts));
    job.done(std::move(merged));
  }
}

}  // namespace parley::gateway
