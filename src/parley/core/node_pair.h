// NodePair: two real nodes wired by hand for the node tests (node_escalation_test.cc,
// node_line_test_test.cc), driven by a clock the test advances (no sleeps): us-eucom and
// ru-genstaff, each with its keys and bundle, a group commit that always succeeds, and the
// transactions of one carried to the other and their answers back. Test-only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "parley/base/rng.h"
#include "parley/catalog/catalog.h"
#include "parley/core/node.h"
#include "parley/crypto/crypto.h"
#include "parley/wire/wire.h"

namespace parley::core {

template <typename T>
std::vector<T> all_of(const std::vector<NodeAction>& actions) {
  std::vector<T> found;
  for (const NodeAction& a : actions) {
    if (const T* t = std::get_if<T>(&a)) found.push_back(*t);
  }
  return found;
}

struct Side {
  std::string party;
  crypto::Keys keys;
  wire::Bundle bundle;
};

inline Side make_side(const std::string& party, std::uint64_t seed,
                      const std::string& fingerprint) {
  SeededRng rng(seed);
  Side s;
  s.party = party;
  s.keys = crypto::generate_keys(rng);
  s.bundle.party = party;
  s.bundle.sign_key = s.keys.verify;
  s.bundle.box_key = s.keys.box_public;
  s.bundle.tls_fingerprint = fingerprint;
  s.bundle.federation = {party + "-primary:7001"};
  return s;
}

inline Principal principal(const std::string& id, const std::string& role) {
  Principal p;
  p.id = id;
  p.name = id;
  p.role = role;
  return p;
}

class NodePair {
 public:
  virtual ~NodePair() = default;

 protected:
  NodePair()
      : us_side_(make_side("us-eucom", 1, std::string(64, 'a'))),
        ru_side_(make_side("ru-genstaff", 2, std::string(64, 'b'))),
        rng_(7) {}

  // A node of `config` whose one peer is `peer`, started at now_.
  std::unique_ptr<Node> make_node(NodeConfig config, const Side& peer, Recovered recovered = {}) {
    std::vector<NodePeer> peers;
    peers.push_back({peer.bundle, std::move(recovered)});
    auto node = std::make_unique<Node>(std::move(config), catalog::Catalog::builtin(), rng_,
                                       std::move(peers));
    std::vector<NodeAction> out;
    node->handle(Start{}, now_, out);
    observe(*node, out);
    return node;
  }

  // Feeds `event` at now_, then commits whatever the node asks for until it asks for
  // nothing more; returns every action of every round.
  std::vector<NodeAction> run(Node& node, NodeEvent event) {
    std::vector<NodeAction> every;
    std::vector<NodeAction> out;
    node.handle(std::move(event), now_, out);
    for (int round = 0; round < 10; ++round) {
      every.insert(every.end(), out.begin(), out.end());
      if (all_of<ScheduleCommit>(out).empty()) break;
      std::vector<NodeAction> more;
      node.handle(CommitDue{}, now_, more);
      const std::vector<Commit> commits = all_of<Commit>(more);
      EXPECT_EQ(commits.size(), 1u);
      every.insert(every.end(), more.begin(), more.end());
      out.clear();
      node.handle(Committed{commits[0].id, std::vector<Status>(commits[0].batches.size())}, now_,
                  out);
    }
    return every;
  }

  // Carries every Post among `actions` of `from` to `to` and its answer back, then what those
  // caused, until neither side has a Post; each side's actions are observed.
  void carry(Node& from, const Side& from_side, Node& to, const Side& to_side,
             std::vector<NodeAction> actions) {
    for (int hop = 0; hop < 10; ++hop) {
      const std::vector<Post> posts = all_of<Post>(actions);
      if (posts.empty()) return;
      actions.clear();
      for (const Post& post : posts) {
        const std::vector<NodeAction> there =
            run(to, PeerTransaction{++request_, from_side.bundle.tls_fingerprint, post.body});
        observe(to, there);
        const std::vector<Answer> answers = all_of<Answer>(there);
        ASSERT_EQ(answers.size(), 1u);
        ASSERT_EQ(answers[0].http_status, 200) << answers[0].body;
        std::vector<NodeAction> back = run(
            from, PostAnswered{post.party, post.path, post.tx, 200, std::move(answers[0].body)});
        observe(from, back);
        actions.insert(actions.end(), back.begin(), back.end());
        // What the receiver sent on its own while answering (an automatic answer) goes too.
        if (!all_of<Post>(there).empty()) carry(to, to_side, from, from_side, there);
      }
    }
  }

  // Called with the actions of every round this pair ran on `node`.
  virtual void observe(Node& node, const std::vector<NodeAction>& actions) {
    (void)node;
    (void)actions;
  }

  Side us_side_;
  Side ru_side_;
  SeededRng rng_;
  const Time t0_ = time_from_unix_ms(1'795'554'000'000);
  Time now_ = t0_;
  RequestId request_ = 0;
};

}  // namespace parley::core
