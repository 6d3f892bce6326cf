// `parley peer list|show|remove` (DESIGN.md "Command line"; issue 16): the pinned peers, from
// the home's store, each with the key in force after its key rotations we stored (issue 17,
// docs/protocol.md "Key rotation": the chain of keys starts from the pinned bundle). A peer is
// removed only once no line names it (as the remote party or as an observer); the removal is logged
// in the directory's audit trail. Peers are not reloaded by a running gateway (core/node.h
// Reconfigure): like `peer add`, a removal takes effect at its next start.
#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "parley/base/bytes.h"
#include "parley/base/json.h"
#include "parley/base/text.h"
#include "parley/cli/commands.h"
#include "parley/cli/directory.h"
#include "parley/store/key_chains.h"

namespace parley::cli {
namespace {

using json::Json;

CLI::Option* home_option(CLI::App* sub, std::string& home) {
  return sub->add_option("--home", home, "The party's home directory (made by parley init)")
      ->required()
      ->type_name("DIR");
}

std::string key_hex(const crypto::VerifyKey& key) {
  return hex_encode(ByteView(key.bytes.data(), key.bytes.size()));
}

// The lines that name `party`: as their remote party, or as an observer.
std::vector<std::string> lines_naming(const std::vector<core::Line>& lines,
                                      const std::string& party) {
  std::vector<std::string> out;
  for (const core::Line& l : lines) {
    if (l.remote.party == party ||
        std::find(l.observers.begin(), l.observers.end(), party) != l.observers.end()) {
      out.push_back(l.id);
    }
  }
  return out;
}

std::string joined(const std::vector<std::string>& items) {
  if (items.empty()) return "-";
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

// One key of the peer's chain: {"rotation", "sign_key", "from_entry", "epoch",
// "tls_fingerprint"} (rotation 0: the pinned bundle's, in force from entry 0, epoch 1).
Json link_json(const ledger::KeyChain::Link& link, const wire::Bundle& b) {
  return Json{{"rotation", link.n},
              {"sign_key", key_hex(link.key)},
              {"from_entry", link.from_index},
              {"epoch", link.epoch},
              {"tls_fingerprint", link.n == 0 ? b.tls_fingerprint : link.tls_fingerprint}};
}

// `chain`: the peer's keys as the store pins them (store::pinned_chain), or why not.
Json peer_json(const wire::Bundle& b, const std::vector<std::string>& lines,
               const Result<ledger::KeyChain>& chain) {
  Json out{{"party", b.party},
           {"sign_key", key_hex(b.sign_key)},
           {"tls_fingerprint", b.tls_fingerprint},
           {"federation", b.federation},
           {"lang", b.lang},
           {"translators", b.translators},
           {"lines", lines}};
  if (!chain.is_ok()) {
    out["key_in_force"] = nullptr;
    out["key_error"] = chain.status().message();
    return out;
  }
  out["key_in_force"] = link_json(chain->newest(), b);
  Json rotations = Json::array();
  for (std::size_t i = 1; i < chain->links().size(); ++i) {
    rotations.push_back(link_json(chain->links()[i], b));
  }
  out["rotations"] = std::move(rotations);
  return out;
}

// "rotation N (entry I): key K, in force from entry I+1, seal epoch E, TLS fingerprint F", or
// the bundle's key when the peer has not rotated, or why the chain cannot be read.
std::string key_in_force_text(const Result<ledger::KeyChain>& chain) {
  if (!chain.is_ok()) return "UNKNOWN: " + chain.status().message();
  const ledger::KeyChain::Link& k = chain->newest();
  if (k.n == 0) return "the bundle's (no rotation)";
  return fmt::format(
      "rotation {} (entry {}): key {}, in force from entry {}, seal epoch {}, TLS fingerprint {}",
      k.n, k.from_index - 1, key_hex(k.key), k.from_index, k.epoch, k.tls_fingerprint);
}

void print_peer(const wire::Bundle& b, const std::vector<std::string>& lines,
                const Result<ledger::KeyChain>& chain) {
  // Each value escaped on its own (a bundle comes from outside): the line breaks are ours.
  const auto e = [](std::string_view v) { return escape_for_terminal(v); };
  std::cout << fmt::format(
      "peer {}\n  signing key:     {}\n  TLS fingerprint: {}\n  federation:      {}\n"
      "  language:        {}\n  translators:     {}\n  lines:           {}\n"
      "  key in force:    {}\n",
      e(b.party), key_hex(b.sign_key), e(b.tls_fingerprint), e(joined(b.federation)), e(b.lang),
      e(joined(b.translators)), e(joined(lines)), e(key_in_force_text(chain)));
}

// `party` empty: every peer (list); else that one (show, kNotFound if it is not pinned).
int run_peer_view(const std::string& dir, const std::string& party, bool as_json) {
  Result<OpenedHome> opened = open_home_and_store(dir);
  if (!opened.is_ok()) return fail(opened.status());
  Result<std::vector<core::Peer>> peers = opened->store->peers();
  if (!peers.is_ok()) return fail(peers.status());
  Result<std::vector<core::Line>> lines = opened->store->lines();
  if (!lines.is_ok()) return fail(lines.status());
  if (!party.empty()) {
    const auto it = std::find_if(peers->begin(), peers->end(),
                                 [&](const core::Peer& p) { return p.bundle.party == party; });
    if (it == peers->end()) {
      return fail(Status::not_found(fmt::format("no peer {} is pinned on this party", party)));
    }
    *peers = {*it};
  }
  if (as_json) {
    Json out = Json::array();
    for (const core::Peer& p : *peers) {
      out.push_back(peer_json(p.bundle, lines_naming(*lines, p.bundle.party),
                              store::pinned_chain(*opened->store, p.bundle)));
    }
    std::cout << json::dump(party.empty() ? out : out.front()) << "\n" << std::flush;
    return 0;
  }
  for (const core::Peer& p : *peers) {
    print_peer(p.bundle, lines_naming(*lines, p.bundle.party),
               store::pinned_chain(*opened->store, p.bundle));
  }
  std::cout << std::flush;
  return 0;
}

// Unpins `party` unless a line names it.
Status peer_remove(const std::string& dir, const std::string& party) {
  PARLEY_ASSIGN_OR_RETURN(OpenedHome opened, open_home_and_store(dir));
  PARLEY_ASSIGN_OR_RETURN(const std::vector<core::Peer> peers, opened.store->peers());
  if (std::none_of(peers.begin(), peers.end(),
                   [&](const core::Peer& p) { return p.bundle.party == party; })) {
    return Status::not_found(fmt::format("no peer {} is pinned on this party", party));
  }
  PARLEY_ASSIGN_OR_RETURN(const std::vector<core::Line> lines, opened.store->lines());
  const std::vector<std::string> naming = lines_naming(lines, party);
  if (!naming.empty()) {
    return Status::failed_precondition(
        fmt::format("peer {} still has lines: {} (remove them first with parley line remove)",
                    party, joined(naming)));
  }
  PARLEY_RETURN_IF_ERROR(opened.store->remove_peer(party));
  return record_change(*opened.store, "peer.remove", party);
}

}  // namespace

void add_peer_commands(CLI::App* peer, int& exit_code) {
  int* code = &exit_code;
  {
    auto home = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    CLI::App* sub = peer->add_subcommand(
        "list",
        "List the pinned peers: party, signing key, TLS fingerprint, federation addresses, "
        "language, translators, the lines that name it, and the key in force after the "
        "peer's key rotations this party stored (rotation, key, first entry, seal epoch, TLS "
        "fingerprint)");
    home_option(sub, *home);
    sub->add_flag("--json", *as_json, "One JSON array");
    sub->callback([=] { *code = run_peer_view(*home, "", *as_json); });
  }
  {
    auto home = std::make_shared<std::string>();
    auto party = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    CLI::App* sub = peer->add_subcommand("show", "Show one pinned peer, as parley peer list does");
    home_option(sub, *home);
    sub->add_option("PARTY", *party, "The peer's party id")->required();
    sub->add_flag("--json", *as_json, "One JSON object");
    sub->callback([=] { *code = run_peer_view(*home, *party, *as_json); });
  }
  {
    auto home = std::make_shared<std::string>();
    auto party = std::make_shared<std::string>();
    CLI::App* sub = peer->add_subcommand(
        "remove",
        "Unpin a peer. Refused while a line names it (as its remote party or an observer): "
        "remove those lines first. Its messages and transcript stay in the store. Logged; "
        "takes effect at the next gateway start");
    home_option(sub, *home);
    sub->add_option("PARTY", *party, "The peer's party id")->required();
    sub->callback([=] {
      const Status status = peer_remove(*home, *party);
      if (!status.is_ok()) {
        *code = fail(status);
        return;
      }
      std::cout << fmt::format("removed peer {}: it takes effect at the next gateway start\n",
                               *party)
                << std::flush;
      *code = 0;
    });
  }
}

}  // namespace parley::cli
