// Driver::reload: live reconfiguration without a restart (SIGHUP, POST /api/v1/admin/reload).
// parley.toml is read again and checked whole; the directory (principals, lines, roster) and
// any newly pinned peer come from the store; the core checks them as one core::Reconfigure.
// Refused, nothing changes and the running configuration is kept. Also the certificates the
// driver accepts from each pinned peer (its bundle's, and those its key rotations announced).
#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "parley/gateway/driver.h"
#include "parley/gateway/witness.h"
#include "parley/gateway/zone_file.h"
#include "parley/store/node_recovery.h"

namespace parley::gateway {

Status Driver::reload() {
  const Status status = reload_directory();
  if (status.is_ok()) {
    spdlog::info("audit: directory reloaded: {} principals, {} lines, {} peers, time zone {}",
                 principals_.size(), lines_.size(), pinned_.size(), zone_.name);
    for (const std::string& key : restart_needed_) {
      spdlog::warn("reload: {} changed in parley.toml: it takes effect at the next start", key);
    }
  } else {
    spdlog::error("audit: reload refused, the running directory is kept: {}", status.message());
  }
  return status;
}

// The peers pinned in the store that the node does not run yet, with what the store holds for
// them; and, in `restart`, those re-pinned with another bundle or removed since start.
Result<std::vector<core::NodePeer>> Driver::newly_pinned(std::vector<std::string>& restart) {
  PARLEY_ASSIGN_OR_RETURN(store::NodeRecovery recovery, store::recover_node(*store_));
  std::vector<core::NodePeer> added;
  for (core::NodePeer& peer : recovery.peers) {
    const auto running = std::find_if(pinned_.begin(), pinned_.end(), [&](const wire::Bundle& b) {
      return b.party == peer.bundle.party;
    });
    if (running == pinned_.end()) {
      added.push_back(std::move(peer));
    } else if (wire::encode_bundle(*running) != wire::encode_bundle(peer.bundle)) {
      restart.push_back("peer " + peer.bundle.party + " (re-pinned)");
    }
  }
  for (const wire::Bundle& b : pinned_) {
    const bool kept =
        std::any_of(recovery.peers.begin(), recovery.peers.end(),
                    [&](const core::NodePeer& p) { return p.bundle.party == b.party; });
    if (!kept) restart.push_back("peer " + b.party + " (removed)");
  }
  return added;
}

Status Driver::reload_directory() {
  if (!node_) return Status::failed_precondition("the gateway is not started");
  const std::string file = (home_.dir / "parley.toml").string();
  PARLEY_ASSIGN_OR_RETURN(const Home fresh, open_home(home_.dir));
  PARLEY_ASSIGN_OR_RETURN(core::ZoneRules zone, load_zone(fresh.config, file));
  std::vector<std::string> restart = keys_needing_restart(home_.config, fresh.config);
  core::Reconfigure reconfigure;
  PARLEY_ASSIGN_OR_RETURN(reconfigure.lines, store_->lines());
  PARLEY_ASSIGN_OR_RETURN(reconfigure.directory.principals, store_->principals());
  PARLEY_ASSIGN_OR_RETURN(reconfigure.directory.roster, store_->roster());
  PARLEY_ASSIGN_OR_RETURN(reconfigure.added_peers, newly_pinned(restart));
  reconfigure.directory.zone = zone;
  reconfigure.backlog_limit = fresh.config.backlog_limit;
  // The API's certificate renewed in place (same files, new contents): served to the
  // connections accepted from now on. Checked before anything changes.
  // Other files named in parley.toml wait for the next start (restart_needed names them).
  const bool new_api_certificate = api_server_ && home_.config.api_tls && fresh.config.api_tls &&
                                   fresh.config.api_cert == home_.config.api_cert &&
                                   fresh.config.api_key == home_.config.api_key &&
                                   (fresh.api_tls.cert_pem != home_.api_tls.cert_pem ||
                                    fresh.api_tls.key_pem != home_.api_tls.key_pem);
  if (new_api_certificate) {
    PARLEY_RETURN_IF_ERROR(net::check_tls_identity(fresh.api_tls)
                               .with_context(fmt::format("the API's new TLS identity ({}, {})",
                                                         fresh.api_cert_path().string(),
                                                         fresh.api_key_path().string())));
  }
  std::vector<core::Line> lines = reconfigure.lines;
  std::vector<core::Principal> principals = reconfigure.directory.principals;
  std::vector<wire::Bundle> added;
  for (const core::NodePeer& peer : reconfigure.added_peers) added.push_back(peer.bundle);
  // Connections first: the node may send to a new peer (what the store held for it) while it
  // handles the change. Taken back if the node refuses it.
  const std::size_t pinned_before = pinned_.size();
  const std::size_t fingerprints_before = allowed_fingerprints_->size();
  for (const wire::Bundle& bundle : added) add_clients(bundle);
  reconfigured_.reset();
  feed(std::move(reconfigure));
  Status outcome =
      reconfigured_ ? *reconfigured_ : Status::internal("the node did not answer the reload");
  if (!outcome.is_ok()) {
    for (const wire::Bundle& bundle : added) clients_.erase(bundle.party);
    pinned_.resize(pinned_before);
    allowed_fingerprints_->resize(fingerprints_before);
    return outcome;
  }
  for (const wire::Bundle& bundle : added) {
    spdlog::info("audit: peer {} pinned while running: its paths {} are up for traffic",
                 bundle.party, fmt::join(bundle.federation, ", "));
  }
  if (new_api_certificate) {
    PARLEY_RETURN_IF_ERROR(api_server_->replace_identity(fresh.api_tls));
    home_.api_tls = fresh.api_tls;
    home_.api_fingerprint = fresh.api_fingerprint;
    spdlog::info(
        "audit: the API's TLS certificate was replaced: SHA-256 fingerprint {} (open "
        "connections keep the previous one until they close)",
        home_.api_fingerprint);
  }
  lines_ = std::move(lines);
  principals_ = std::move(principals);
  zone_ = std::move(zone);
  home_.config.timezone = fresh.config.timezone;
  home_.config.timezone_line = fresh.config.timezone_line;
  home_.config.principal_rate = fresh.config.principal_rate;
  home_.config.principal_burst = fresh.config.principal_burst;
  home_.config.backlog_limit = fresh.config.backlog_limit;
  if (home_.config.log_level != fresh.config.log_level) {
    home_.config.log_level = fresh.config.log_level;
    spdlog::set_level(spdlog::level::from_str(home_.config.log_level));
  }
  restart_needed_ = std::move(restart);
  return Status::ok();
}

void Driver::allow_fingerprint(const std::string& party, const std::string& fingerprint) {
  const auto add = [&](std::vector<std::string>& list) {
    if (std::find(list.begin(), list.end(), fingerprint) == list.end()) list.push_back(fingerprint);
  };
  add(*allowed_fingerprints_);
  const auto clients = clients_.find(party);
  if (clients != clients_.end() && clients->second.fingerprints) add(*clients->second.fingerprints);
}

Fingerprints Driver::fingerprints(const wire::Bundle& party) const {
  const auto clients = clients_.find(party.party);
  if (clients != clients_.end() && clients->second.fingerprints)
    return clients->second.fingerprints;
  return fingerprints_of({}, party);
}

}  // namespace parley::gateway
