// Issue 15: a peer's transaction prechecked by the shell (NodeConfig::precheck, Precheck and
// Prechecked, core/precheck.h). Two receiving nodes alike in all but that are fed the same
// transactions at the same times: one verifies inline, the other gets its prechecks answered
// late, out of order, with items left out, with none at all, or twice. Their answers must be
// the same, byte for byte, and a peer's transactions must be handled in the order received.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "parley/base/rng.h"
#include "parley/catalog/catalog.h"
#include "parley/core/node.h"
#include "parley/core/node_pair.h"
#include "parley/core/precheck.h"
#include "parley/crypto/crypto.h"
#include "parley/crypto/facts.h"
#include "parley/wire/dsse.h"
#include "parley/wire/wire.h"

namespace parley::core {
namespace {

constexpr char kLine[] = "saceur-cgs";

struct Answered {
  int status = 0;
  std::string body;
  friend bool operator==(const Answered&, const Answered&) = default;
};

class NodePrecheckTest : public ::testing::Test, protected NodePair {
 protected:
  // A node of `self` with its one line to `peer`, its own rng (so two alike draw alike).
  std::unique_ptr<Node> node(const Side& self, const Side& peer, const std::string& local,
                             const std::string& remote, bool precheck, SeededRng& rng) {
    NodeConfig config;
    config.party = self.party;
    config.keys = self.keys;
    config.window = 4;
    config.precheck = precheck;
    Line line;
    line.id = kLine;
    line.local = local;
    line.remote = wire::Address{peer.party, remote};
    config.lines = {line};
    std::vector<NodePeer> peers;
    peers.push_back({peer.bundle, Recovered{}});
    auto n = std::make_unique<Node>(std::move(config), catalog::Catalog::builtin(), rng,
                                    std::move(peers));
    std::vector<NodeAction> out;
    n->handle(Start{}, now_, out);
    return n;
  }

  // us-eucom's transactions carrying `n` messages, posted before any answer (its window).
  std::vector<std::string> transactions(std::size_t n) {
    SeededRng rng(11);
    std::unique_ptr<Node> us = node(us_side_, ru_side_, "saceur", "cgs", false, rng);
    std::vector<std::string> bodies;
    for (std::size_t i = 1; i <= n; ++i) {
      Submit s;
      s.request = i;
      s.line = kLine;
      s.principal = "saceur";
      s.precedence = Precedence::kFlash;  // a transaction of its own each
      s.content = wire::Content{"{}", "message " + std::to_string(i)};
      for (const NodeAction& a : run(*us, std::move(s))) {
        if (const Post* post = std::get_if<Post>(&a)) bodies.push_back(post->body);
      }
    }
    return bodies;
  }

  // `body` with its first envelope signed by another key: a forgery.
  std::string forged(const std::string& body) {
    Result<wire::Transaction> tx = wire::parse_transaction(body);
    EXPECT_TRUE(tx.is_ok());
    Result<wire::Dsse> dsse = wire::parse_dsse(tx->entries[0].envelope, 1 << 20);
    EXPECT_TRUE(dsse.is_ok());
    SeededRng rng(99);
    const crypto::Keys forger = crypto::generate_keys(rng);
    tx->entries[0].envelope = wire::encode_dsse(
        wire::sign_dsse(wire::kEnvelopeDomain, dsse->payload, forger.signing, dsse->key));
    return wire::encode_transaction(*tx);
  }

  // Commits what `node` asks for until it asks for nothing more; every Answer, by request.
  void settle(Node& node, std::vector<NodeAction> out, std::map<RequestId, Answered>& answers) {
    for (int round = 0; round < 10; ++round) {
      for (const Answer& a : all_of<Answer>(out)) {
        EXPECT_TRUE(answers.emplace(a.request, Answered{a.http_status, a.body}).second)
            << "request " << a.request << " answered twice";
      }
      if (all_of<ScheduleCommit>(out).empty()) return;
      std::vector<NodeAction> more;
      node.handle(CommitDue{}, now_, more);
      const std::vector<Commit> commits = all_of<Commit>(more);
      ASSERT_EQ(commits.size(), 1u);
      out = more;
      more.clear();
      node.handle(Committed{commits[0].id, std::vector<Status>(commits[0].batches.size())}, now_,
                  more);
      out.insert(out.end(), more.begin(), more.end());
    }
  }

  // The reference: each transaction handled at once, inline, and committed before the next.
  std::map<RequestId, Answered> inline_answers(const std::vector<std::string>& bodies) {
    SeededRng rng(21);
    std::unique_ptr<Node> ru = node(ru_side_, us_side_, "cgs", "saceur", false, rng);
    std::map<RequestId, Answered> answers;
    for (std::size_t i = 0; i < bodies.size(); ++i) {
      std::vector<NodeAction> out;
      ru->handle(PeerTransaction{i + 1, us_side_.bundle.tls_fingerprint, bodies[i]}, now_, out);
      EXPECT_TRUE(all_of<Precheck>(out).empty());  // off: never asked
      settle(*ru, std::move(out), answers);
    }
    return answers;
  }

  static std::shared_ptr<const crypto::Facts> facts_of(const Precheck& p, std::size_t skip_every) {
    auto facts = std::make_shared<crypto::Facts>();
    for (std::size_t i = 0; i < p.items.size(); ++i) {
      if (skip_every != 0 && i % skip_every == 0) continue;
      facts->merge(run_precheck(p.items[i]));
    }
    return facts;
  }
};

TEST_F(NodePrecheckTest, LateReorderedAndMissingAnswersGiveTheVerdictsOfInlineVerification) {
  const std::vector<std::string> sent = transactions(4);
  ASSERT_EQ(sent.size(), 4u);
  // T1, T2, T3; T4 forged; a malformed body; T1 again (answered with the receipt of before).
  const std::vector<std::string> bodies = {sent[0],         sent[1],     sent[2],
                                           forged(sent[3]), "{\"v\":2,", sent[0]};
  const std::map<RequestId, Answered> expected = inline_answers(bodies);
  ASSERT_EQ(expected.size(), bodies.size());
  EXPECT_EQ(expected.at(1).status, 200);
  EXPECT_EQ(expected.at(4).status, 400);
  EXPECT_NE(expected.at(4).body.find("bad signature"), std::string::npos) << expected.at(4).body;
  EXPECT_EQ(expected.at(5).status, 400);
  EXPECT_EQ(expected.at(6), expected.at(1));

  SeededRng rng(21);
  std::unique_ptr<Node> ru = node(ru_side_, us_side_, "cgs", "saceur", true, rng);
  std::map<RequestId, Answered> answers;
  std::vector<Precheck> asked;
  for (RequestId r = 1; r <= 5; ++r) {
    std::vector<NodeAction> out;
    ru->handle(PeerTransaction{r, us_side_.bundle.tls_fingerprint, bodies[r - 1]}, now_, out);
    EXPECT_TRUE(all_of<Answer>(out).empty()) << "request " << r << " answered before T1";
    for (const Precheck& p : all_of<Precheck>(out)) asked.push_back(p);
  }
  ASSERT_EQ(asked.size(), 4u);           // the malformed one asks for nothing
  EXPECT_EQ(asked[0].items.size(), 2u);  // the head and the one envelope
  EXPECT_EQ(ru->transactions_held(), 5u);

  // Answered in reverse order: T4 (forged) fully, T3 with items left out, T2 with none, an
  // unknown token; nothing may be handled before T1's answer.
  std::vector<NodeAction> out;
  ru->handle(Prechecked{asked[3].token, facts_of(asked[3], 0)}, now_, out);
  ru->handle(Prechecked{asked[2].token, facts_of(asked[2], 2)}, now_, out);
  ru->handle(Prechecked{asked[1].token, nullptr}, now_, out);
  ru->handle(Prechecked{12345, facts_of(asked[0], 0)}, now_, out);
  EXPECT_TRUE(all_of<Answer>(out).empty());
  EXPECT_TRUE(all_of<ScheduleCommit>(out).empty());
  EXPECT_EQ(ru->transactions_held(), 5u);

  ru->handle(Prechecked{asked[0].token, facts_of(asked[0], 0)}, now_, out);
  EXPECT_EQ(ru->transactions_held(), 0u);
  ru->handle(Prechecked{asked[0].token, facts_of(asked[0], 0)}, now_, out);  // twice: ignored
  settle(*ru, std::move(out), answers);

  // T1 again, once everything before it is durable: its precheck answered in full.
  out.clear();
  ru->handle(PeerTransaction{6, us_side_.bundle.tls_fingerprint, bodies[5]}, now_, out);
  const std::vector<Precheck> again = all_of<Precheck>(out);
  ASSERT_EQ(again.size(), 1u);
  ru->handle(Prechecked{again[0].token, facts_of(again[0], 0)}, now_, out);
  settle(*ru, std::move(out), answers);

  ASSERT_EQ(answers.size(), expected.size());
  for (const auto& [request, answer] : expected) {
    EXPECT_EQ(answers.at(request).status, answer.status) << "request " << request;
    EXPECT_EQ(answers.at(request).body, answer.body) << "request " << request;
  }
  EXPECT_EQ(ru->counters().messages_received, 3u);
  EXPECT_EQ(ru->counters().frames_refused, 2u);
}

TEST_F(NodePrecheckTest, AForgedFactCannotPassAForgedSignature) {
  // Facts are keyed by every byte of their question: the facts of the genuine transaction do
  // not answer for its forgery, which is refused with the same reason as inline.
  const std::vector<std::string> sent = transactions(1);
  ASSERT_EQ(sent.size(), 1u);
  const std::string forgery = forged(sent[0]);
  const std::map<RequestId, Answered> expected = inline_answers({forgery});

  SeededRng rng(21);
  std::unique_ptr<Node> ru = node(ru_side_, us_side_, "cgs", "saceur", true, rng);
  std::vector<NodeAction> genuine;
  ru->handle(PeerTransaction{7, us_side_.bundle.tls_fingerprint, sent[0]}, now_, genuine);
  std::vector<NodeAction> out;
  ru->handle(PeerTransaction{1, us_side_.bundle.tls_fingerprint, forgery}, now_, out);
  const std::vector<Precheck> asked = all_of<Precheck>(out);
  ASSERT_EQ(asked.size(), 1u);
  const std::vector<Precheck> genuine_asked = all_of<Precheck>(genuine);
  ASSERT_EQ(genuine_asked.size(), 1u);
  // The forgery's token answered with the genuine transaction's facts.
  out.clear();
  ru->handle(Prechecked{asked[0].token, facts_of(genuine_asked[0], 0)}, now_, out);
  ru->handle(Prechecked{genuine_asked[0].token, nullptr}, now_, out);
  std::map<RequestId, Answered> answers;
  settle(*ru, std::move(out), answers);
  ASSERT_EQ(answers.count(1), 1u);
  EXPECT_EQ(answers.at(1), expected.at(1));
  EXPECT_EQ(answers.at(1).status, 400);
  EXPECT_NE(answers.at(1).body.find("bad signature"), std::string::npos) << answers.at(1).body;
  EXPECT_EQ(answers.at(7).status, 200) << answers.at(7).body;
}

TEST_F(NodePrecheckTest, TheSessionVerifiesWithTheFactsItIsHanded) {
  // A fact the shell never makes (that a forged signature holds) changes the verdict: the
  // node hands the precheck's facts to verification, which takes them instead of checking.
  // Inline, the forgery fails its signature; with the fact, it gets past it and fails at
  // the next check, its inclusion (the forged envelope is another leaf).
  const std::vector<std::string> sent = transactions(1);
  ASSERT_EQ(sent.size(), 1u);
  const std::string forgery = forged(sent[0]);
  Result<wire::Transaction> tx = wire::parse_transaction(forgery);
  ASSERT_TRUE(tx.is_ok());
  Result<wire::Dsse> dsse = wire::parse_dsse(tx->entries[0].envelope, 1 << 20);
  ASSERT_TRUE(dsse.is_ok());
  auto facts = std::make_shared<crypto::Facts>();
  facts->add_signature(us_side_.bundle.sign_key, wire::kEnvelopeDomain, dsse->payload, dsse->sig);

  SeededRng rng(21);
  std::unique_ptr<Node> ru = node(ru_side_, us_side_, "cgs", "saceur", true, rng);
  std::vector<NodeAction> out;
  ru->handle(PeerTransaction{1, us_side_.bundle.tls_fingerprint, forgery}, now_, out);
  const std::vector<Precheck> asked = all_of<Precheck>(out);
  ASSERT_EQ(asked.size(), 1u);
  out.clear();
  ru->handle(Prechecked{asked[0].token, facts}, now_, out);
  std::map<RequestId, Answered> answers;
  settle(*ru, std::move(out), answers);
  ASSERT_EQ(answers.count(1), 1u);
  EXPECT_EQ(answers.at(1).status, 400) << answers.at(1).body;
  EXPECT_EQ(answers.at(1).body.find("bad signature"), std::string::npos) << answers.at(1).body;
  EXPECT_NE(answers.at(1).body.find("inclusion proof"), std::string::npos) << answers.at(1).body;
  const std::map<RequestId, Answered> expected = inline_answers({forgery});
  EXPECT_NE(expected.at(1).body.find("bad signature"), std::string::npos) << expected.at(1).body;
}

TEST_F(NodePrecheckTest, APeersTransactionsWaitingForPrechecksAreBounded) {
  const std::vector<std::string> sent = transactions(1);
  ASSERT_EQ(sent.size(), 1u);
  SeededRng rng(21);
  std::unique_ptr<Node> ru = node(ru_side_, us_side_, "cgs", "saceur", true, rng);
  std::vector<Precheck> asked;
  for (RequestId r = 1; r <= Node::kHeldPerPeerMax; ++r) {
    std::vector<NodeAction> out;
    ru->handle(PeerTransaction{r, us_side_.bundle.tls_fingerprint, sent[0]}, now_, out);
    EXPECT_TRUE(all_of<Answer>(out).empty()) << "request " << r;
    for (const Precheck& p : all_of<Precheck>(out)) asked.push_back(p);
  }
  EXPECT_EQ(ru->transactions_held(), Node::kHeldPerPeerMax);
  // One more: refused at once, 503, nothing held or asked for it.
  std::vector<NodeAction> out;
  const RequestId over = Node::kHeldPerPeerMax + 1;
  ru->handle(PeerTransaction{over, us_side_.bundle.tls_fingerprint, sent[0]}, now_, out);
  EXPECT_TRUE(all_of<Precheck>(out).empty());
  const std::vector<Answer> refused = all_of<Answer>(out);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].request, over);
  EXPECT_EQ(refused[0].http_status, 503);
  EXPECT_NE(refused[0].body.find("wait for their signature checks"), std::string::npos)
      << refused[0].body;
  EXPECT_EQ(ru->transactions_held(), Node::kHeldPerPeerMax);
  // Once they are answered, the queue drains and a new copy is taken again.
  out.clear();
  for (const Precheck& p : asked) ru->handle(Prechecked{p.token, nullptr}, now_, out);
  EXPECT_EQ(ru->transactions_held(), 0u);
  out.clear();
  ru->handle(PeerTransaction{over + 1, us_side_.bundle.tls_fingerprint, sent[0]}, now_, out);
  EXPECT_EQ(all_of<Precheck>(out).size(), 1u);
  EXPECT_EQ(ru->transactions_held(), 1u);
}

TEST_F(NodePrecheckTest, AMalformedTransactionWithNothingAheadIsRefusedAtOnce) {
  SeededRng rng(21);
  std::unique_ptr<Node> ru = node(ru_side_, us_side_, "cgs", "saceur", true, rng);
  std::vector<NodeAction> out;
  ru->handle(PeerTransaction{1, us_side_.bundle.tls_fingerprint, "not json"}, now_, out);
  EXPECT_TRUE(all_of<Precheck>(out).empty());
  const std::vector<Answer> answers = all_of<Answer>(out);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].http_status, 400);
  EXPECT_EQ(ru->transactions_held(), 0u);
}

}  // namespace
}  // namespace parley::core
