#include "parley/gateway/lease.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <utility>

#include <spdlog/spdlog.h>

#include "parley/base/json.h"
#include "parley/gateway/api.h"
#include "parley/wire/wire.h"

namespace parley::gateway {
namespace {

// A renewal every third of the lease leaves two thirds of it for a slow store or a busy io
// thread before the lease lapses.
Duration renew_period(Duration lease) { return lease / 3; }

// How often a standby looks at the lease: part of the takeover time, so more often than the
// active renews it; cheap (one statement).
Duration poll_period(Duration lease) {
  return std::max<Duration>(std::chrono::milliseconds(100), lease / 5);
}

net::HttpResponse json_answer(int status, const json::Json& body) {
  net::HttpResponse response;
  response.status = status;
  response.body = json::dump(body);
  return response;
}

}  // namespace

std::string lease_holder_name(const Home& home) {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  // The pid first: PostgreSQL keeps 63 bytes of an application_name, and a host name is long.
  return "pid " + std::to_string(::getpid()) + " api " + home.config.api_listen + " host " +
         std::string(host.data());
}

Instance::Instance(boost::asio::io_context& io, Home home, std::unique_ptr<store::Store> store,
                   std::string holder)
    : io_(io),
      home_(std::move(home)),
      holder_(std::move(holder)),
      lease_(home_.config.lease),
      store_(std::move(store)),
      timer_(io) {}

Instance::~Instance() { stop(); }

Status Instance::start() {
  shared_ = store_->shared();
  if (!shared_) return become_active(1);  // SQLite: always the holder, nothing to renew
  spdlog::info("store shared: lease of {} as '{}'", format_duration(lease_), holder_);
  PARLEY_ASSIGN_OR_RETURN(const bool taken, try_take());
  if (!taken) PARLEY_RETURN_IF_ERROR(serve_standby());
  arm(taken ? renew_period(lease_) : poll_period(lease_));
  return Status::ok();
}

void Instance::stop() {
  if (stopping_) return;
  stopping_ = true;
  timer_.cancel();
  if (standby_api_) standby_api_->stop();
  if (!driver_) return;
  driver_->stop();  // commits what is pending, unless the store refused a commit already
  if (!driver_->store().shared()) return;
  // Expires the lease now rather than after its length: a standby takes over at its next look.
  const Status released = driver_->store().release_lease(holder_, epoch_);
  if (!released.is_ok()) spdlog::warn("releasing the lease: {}", released.to_string());
}

void Instance::arm(Duration delay) {
  timer_.expires_after(delay);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

void Instance::tick() {
  if (stopping_) return;
  if (!shared_) {
    if (!driver_) try_resume();
    return;
  }
  if (driver_) {
    renew();
  } else {
    const Result<bool> taken = try_take();
    if (!taken.is_ok()) {
      // Logged once per kind of failure, not at every poll.
      if (taken.status().message() != last_error_) {
        spdlog::warn("standby: cannot take the lease: {}", taken.status().to_string());
      }
      last_error_ = taken.status().message();
      store_.reset();  // connect again at the next look: the connection may be what failed
    }
  }
  if (!stopping_) arm(driver_ ? renew_period(lease_) : poll_period(lease_));
}

Result<bool> Instance::try_take() {
  if (!store_) {
    PARLEY_ASSIGN_OR_RETURN(store_, open_store(home_));
  }
  PARLEY_ASSIGN_OR_RETURN(const std::optional<std::uint64_t> epoch,
                          store_->take_lease(holder_, lease_));
  if (!epoch) return false;
  last_error_.clear();
  const Status started = become_active(*epoch);
  if (started.is_ok()) return true;
  // Holding a lease it cannot serve would keep every standby out: give it back at once.
  if (driver_ || store_) {
    store::Store& store = driver_ ? driver_->store() : *store_;
    (void)store.release_lease(holder_, *epoch);
  }
  step_down("starting as the active gateway failed: " + started.message());
  return started;
}

Status Instance::become_active(std::uint64_t epoch) {
  // Every write from now on checks the epoch in its transaction: this instance can write only
  // while the lease is still the one it took (store.h Store::fence).
  store_->fence(epoch);
  epoch_ = epoch;
  if (standby_api_) {
    standby_api_->stop();  // its port is the active API's
    retired_servers_.push_back(std::move(standby_api_));
  }
  driver_ = std::make_unique<Driver>(io_, home_, std::move(store_));
  driver_->on_store_failure([this](const Status& status) { on_store_failure(status); });
  if (shared_) spdlog::info("active: took the lease at epoch {}; recovering from the store", epoch);
  // Recovery as at any start: what is pending, read from the store after the lease was taken,
  // so it includes every write of the previous active.
  return driver_->start(make_api_handler(*driver_));
}

void Instance::renew() {
  const Result<bool> renewed = driver_->store().renew_lease(holder_, epoch_, lease_);
  if (!renewed.is_ok()) {
    step_down("cannot renew the lease: " + renewed.status().to_string());
  } else if (!*renewed) {
    step_down("deposed: another gateway took the lease after epoch " + std::to_string(epoch_));
  }
}

void Instance::on_store_failure(const Status& status) {
  if (shared_) {
    return step_down(store::is_fenced(status) ? status.message()
                                              : "the store failed a commit: " + status.to_string());
  }
  if (store::is_disk_full(status)) return hold(status);
  // Not a full disk: the write may have reached the file, or an fsync failed and the page
  // cache no longer says what the disk holds. Only a restart's recovery is safe.
  spdlog::critical("the store failed to make a commit durable: {}; stopping", status.to_string());
  std::_Exit(70);
}

void Instance::step_down(const std::string& why) {
  if (!driver_ || stopping_) return;
  spdlog::error("stepping down (epoch {}): {}; standing by", epoch_, why);
  retire_driver("stepping down: " + why);
}

void Instance::hold(const Status& status) {
  if (!driver_ || stopping_) return;
  held_ = "the disk is full: " + status.message();
  spdlog::error(
      "ALERT: {}; holding: new messages and peer transactions are refused (503) until {} MiB "
      "are free on {} (nothing that was not stored was acknowledged or receipted)",
      held_, kResumeFreeBytes / (1024 * 1024), home_.store_path().parent_path().string());
  retire_driver(held_);
  hold_retry_ = std::chrono::seconds(1);
  arm(hold_retry_);
}

void Instance::retire_driver(const std::string& why) {
  driver_->abandon(why);
  retired_drivers_.push_back(std::move(driver_));
  epoch_ = 0;
  const Status serving = serve_standby();
  if (!serving.is_ok()) spdlog::error("standby: {}", serving.to_string());
}

void Instance::try_resume() {
  const auto again = [this] {
    hold_retry_ = std::min<Duration>(hold_retry_ * 2, std::chrono::seconds(30));
    arm(hold_retry_);
  };
  std::error_code ec;
  const std::filesystem::space_info space =
      std::filesystem::space(home_.store_path().parent_path(), ec);
  if (ec || space.available < kResumeFreeBytes) return again();
  if (!store_) {
    Result<std::unique_ptr<store::Store>> opened = open_store(home_);
    if (!opened.is_ok()) {
      spdlog::warn("holding: cannot open the store again: {}", opened.status().to_string());
      return again();
    }
    store_ = std::move(*opened);
  }
  spdlog::info("{} MiB free on {}: recovering from the store", space.available / (1024 * 1024),
               home_.store_path().parent_path().string());
  const Status started = become_active(1);
  if (!started.is_ok()) {
    spdlog::error("holding: starting again failed: {}", started.to_string());
    if (driver_) retire_driver(held_);
    return again();
  }
  spdlog::info("resumed after a full disk: serving again");
  held_.clear();
}

Status Instance::serve_standby() {
  PARLEY_ASSIGN_OR_RETURN(
      standby_api_,
      listen_api(io_, home_,
                 [this](net::HttpRequest request, std::shared_ptr<net::Responder> responder) {
                   answer_standby(request, *responder);
                 }));
  spdlog::info("{}: api {} answers 503; no federation listener",
               held_.empty() ? "standby" : "holding", standby_api_->local_endpoint());
  return Status::ok();
}

void Instance::answer_standby(const net::HttpRequest& request, net::Responder& responder) const {
  const std::string path = request.target.substr(0, request.target.find('?'));
  if (request.method == "GET" && path == "/healthz") {
    return responder.respond(json_answer(200, {{"status", "ok"}}));
  }
  if (!held_.empty()) {
    const std::string why =
        held_ + "; this gateway of " + home_.config.party +
        " refuses new messages until space is freed, then resumes by itself (docs/operations.md, "
        "\"A full disk\")";
    if (request.method == "GET" && path == "/readyz") {
      return responder.respond(
          json_answer(503, {{"ready", false}, {"role", "held"}, {"error", why}}));
    }
    return responder.respond(json_answer(503, {{"error", why}}));
  }
  if (request.method == "GET" && path == "/readyz") {
    json::Json body = {{"ready", false}, {"role", "standby"}};
    if (!last_error_.empty()) body["error"] = last_error_;
    return responder.respond(json_answer(503, body));
  }
  responder.respond(json_answer(
      503, {{"error", "standby: this gateway of " + home_.config.party +
                          " is not the active one; the active one serves the API and the "
                          "federation (docs/operations.md, \"Standby gateways\")"}}));
}

}  // namespace parley::gateway
