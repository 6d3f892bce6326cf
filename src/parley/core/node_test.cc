// The node as the driver and the simulator see it: two real nodes (us-eucom and ru-genstaff)
// wired by hand, every action carried out by the test, so that routing, group commit and path
// choice are checked on the node's own outputs.
#include "parley/core/node.h"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/base/rng.h"
#include "parley/catalog/catalog.h"
#include "parley/crypto/crypto.h"
#include "parley/wire/wire.h"

namespace parley::core {
namespace {

using namespace std::chrono_literals;

constexpr char kLine[] = "saceur-cgs";

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

Side make_side(const std::string& party, std::uint64_t seed, const std::string& fingerprint) {
  SeededRng rng(seed);
  Side s;
  s.party = party;
  s.keys = crypto::generate_keys(rng);
  s.bundle.party = party;
  s.bundle.sign_key = s.keys.verify;
  s.bundle.box_key = s.keys.box_public;
  s.bundle.tls_fingerprint = fingerprint;
  s.bundle.federation = {party + "-primary:7001", party + "-backup:7001"};
  return s;
}

Line make_line(const std::string& local, const std::string& remote_party,
               const std::string& remote) {
  Line line;
  line.id = kLine;
  line.local = local;
  line.remote = wire::Address{remote_party, remote};
  return line;
}

class NodeTest : public ::testing::Test {
 protected:
  NodeTest()
      : us_(make_side("us-eucom", 1, std::string(64, 'a'))),
        ru_(make_side("ru-genstaff", 2, std::string(64, 'b'))),
        rng_(7) {}

  // `window`: transactions in flight per peer (1 unless a test is about the window: then the
  // second message of a test waits queued behind the first one's transaction).
  std::unique_ptr<Node> make_node(const Side& self, const Side& peer, const std::string& local,
                                  const std::string& remote, std::vector<Line> extra = {},
                                  std::size_t window = 1, std::size_t backlog_limit = 0) {
    NodeConfig config;
    config.party = self.party;
    config.window = window;
    config.backlog_limit = backlog_limit;
    config.keys = self.keys;
    config.lines = {make_line(local, peer.party, remote)};
    for (Line& l : extra) config.lines.push_back(std::move(l));
    std::vector<NodePeer> peers;
    peers.push_back({peer.bundle, Recovered{}});
    auto node = std::make_unique<Node>(std::move(config), catalog::Catalog::builtin(), rng_,
                                       std::move(peers));
    std::vector<NodeAction> out;
    node->handle(Start{}, now_, out);
    return node;
  }

  Submit submit(RequestId request, Precedence precedence = Precedence::kRoutine) {
    Submit s;
    s.request = request;
    s.line = kLine;
    s.principal = "saceur";
    s.precedence = precedence;
    s.content = wire::Content{"{}", "message " + std::to_string(request)};
    return s;
  }

  // Commits whatever the node asks for, every batch durable, until it asks for nothing more;
  // `out` ends with the last round's actions, `every` (if given) gets every round's.
  void commit_all(Node& node, std::vector<NodeAction>& out,
                  std::vector<NodeAction>* every = nullptr) {
    for (int round = 0; round < 10; ++round) {
      if (all_of<ScheduleCommit>(out).empty()) return;
      std::vector<NodeAction> more;
      node.handle(CommitDue{}, now_, more);
      const std::vector<Commit> commits = all_of<Commit>(more);
      ASSERT_EQ(commits.size(), 1u);
      out.insert(out.end(), more.begin(), more.end());
      more.clear();
      node.handle(Committed{commits[0].id, std::vector<Status>(commits[0].batches.size())}, now_,
                  more);
      if (every != nullptr) every->insert(every->end(), more.begin(), more.end());
      out = more;
    }
  }

  Side us_;
  Side ru_;
  SeededRng rng_;
  Time now_ = time_from_unix_ms(1'795'554'000'000);
};

TEST_F(NodeTest, ASubmissionOnAnUnknownLineOrAnUnpinnedPeerIsRejectedAndChangesNothing) {
  Line idle = make_line("saceur", "nato-shape", "ops");
  idle.id = "idle";
  std::unique_ptr<Node> node = make_node(us_, ru_, "saceur", "cgs", {idle});
  std::vector<NodeAction> out;
  Submit unknown = submit(1);
  unknown.line = "no-such-line";
  node->handle(unknown, now_, out);
  Submit unpinned = submit(2);
  unpinned.line = "idle";
  node->handle(unpinned, now_, out);
  const std::vector<Rejected> rejected = all_of<Rejected>(out);
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(rejected[0].request, 1u);
  EXPECT_EQ(rejected[0].status.code(), StatusCode::kNotFound);
  EXPECT_EQ(rejected[1].request, 2u);
  EXPECT_EQ(rejected[1].status.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(all_of<ScheduleCommit>(out).empty());
  EXPECT_FALSE(node->committing());
}

// Issue 15, backpressure: with the peer's queue at the bound, a ROUTINE submission is refused
// (kResourceExhausted, the API's 503) and counted, nothing is written; FLASH, IMMEDIATE and
// PRIORITY still go in, past the bound.
TEST_F(NodeTest, RoutineIsRefusedWhileThePeersQueueIsAtTheBacklogLimitAndUrgentTrafficIsNot) {
  std::unique_ptr<Node> node =
      make_node(us_, ru_, "saceur", "cgs", {}, /*window=*/1, /*backlog_limit=*/3);
  std::vector<NodeAction> out;
  for (RequestId r = 1; r <= 3; ++r) node->handle(submit(r), now_, out);
  commit_all(*node, out);
  EXPECT_EQ(node->session(ru_.party)->queued(), 3u);  // nothing answered: all still queued
  out.clear();
  node->handle(submit(4), now_, out);
  const std::vector<Rejected> refused = all_of<Rejected>(out);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].request, 4u);
  EXPECT_EQ(refused[0].status.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(refused[0].status.message().find("3 messages are queued for ru-genstaff"),
            std::string::npos)
      << refused[0].status.message();
  EXPECT_TRUE(all_of<ScheduleCommit>(out).empty());  // nothing to write for it
  EXPECT_EQ(node->counters().refused_backlog.at(ru_.party), 1u);
  EXPECT_EQ(node->session(ru_.party)->queued(), 3u);

  out.clear();
  node->handle(submit(5, Precedence::kFlash), now_, out);
  node->handle(submit(6, Precedence::kImmediate), now_, out);
  node->handle(submit(7, Precedence::kPriority), now_, out);
  EXPECT_TRUE(all_of<Rejected>(out).empty());
  std::vector<NodeAction> every;
  commit_all(*node, out, &every);
  EXPECT_EQ(all_of<Accepted>(every).size(), 3u);
  EXPECT_EQ(node->session(ru_.party)->queued(), 6u);
  out.clear();
  node->handle(submit(8), now_, out);
  EXPECT_EQ(all_of<Rejected>(out).size(), 1u);
  EXPECT_EQ(node->counters().refused_backlog.at(ru_.party), 2u);
}

// Issue 14, a broadcast: us-eucom with two pinned peers, a line to each (and one to a third
// party nobody pinned, and one of another principal).
class NodeBroadcastTest : public NodeTest {
 protected:
  static constexpr char kId[] = "0190a0b0-0000-7000-8000-00000000b001";

  NodeBroadcastTest() : nato_(make_side("nato-shape", 3, std::string(64, 'c'))) {
    NodeConfig config;
    config.party = us_.party;
    config.keys = us_.keys;
    Line cgs = make_line("saceur", "ru-genstaff", "cgs");
    Line shape = make_line("saceur", "nato-shape", "ops");
    shape.id = "saceur-shape";
    Line idle = make_line("saceur", "xx-unpinned", "nobody");
    idle.id = "idle";
    Line j3 = make_line("j3", "ru-genstaff", "cgs");
    j3.id = "j3-cgs";
    config.lines = {cgs, shape, idle, j3};
    std::vector<NodePeer> peers;
    peers.push_back({ru_.bundle, Recovered{}});
    peers.push_back({nato_.bundle, Recovered{}});
    node_ = std::make_unique<Node>(std::move(config), catalog::Catalog::builtin(), rng_,
                                   std::move(peers));
    std::vector<NodeAction> out;
    node_->handle(Start{}, now_, out);
  }

  Broadcast broadcast(const std::vector<std::string>& lines) {
    Broadcast b;
    b.id = kId;
    RequestId request = 1;
    for (const std::string& line : lines) {
      Submit s = submit(request++, Precedence::kFlash);
      s.line = line;
      b.submits.push_back(std::move(s));
    }
    return b;
  }

  // Handles a broadcast on `lines` that must be refused: every request Rejected with the same
  // status, which names `bad`, and nothing written.
  void expect_refused(const Broadcast& b, const std::string& bad, StatusCode code) {
    std::vector<NodeAction> out;
    node_->handle(b, now_, out);
    const std::vector<Rejected> rejected = all_of<Rejected>(out);
    ASSERT_EQ(rejected.size(), b.submits.size());
    for (std::size_t i = 0; i < rejected.size(); ++i) {
      EXPECT_EQ(rejected[i].request, b.submits[i].request);
      EXPECT_EQ(rejected[i].status.code(), code) << rejected[i].status.to_string();
      EXPECT_NE(rejected[i].status.message().find("'" + bad + "'"), std::string::npos)
          << rejected[i].status.to_string();
    }
    EXPECT_TRUE(all_of<ScheduleCommit>(out).empty());
    EXPECT_FALSE(node_->committing());
    EXPECT_EQ(node_->session("ru-genstaff")->stats().queued, 0u);
    EXPECT_EQ(node_->session("nato-shape")->stats().queued, 0u);
  }

  Side nato_;
  std::unique_ptr<Node> node_;
};

TEST_F(NodeBroadcastTest, OneMessagePerLineEachToItsPeerInOneCommitTiedByTheBroadcastId) {
  std::vector<NodeAction> out;
  node_->handle(broadcast({kLine, "saceur-shape"}), now_, out);
  EXPECT_TRUE(all_of<Rejected>(out).empty());
  ASSERT_EQ(all_of<ScheduleCommit>(out).size(), 1u);
  out.clear();
  node_->handle(CommitDue{}, now_, out);
  const std::vector<Commit> commits = all_of<Commit>(out);
  ASSERT_EQ(commits.size(), 1u);                  // both lines' writes in one durable transaction
  std::map<std::string, MessageRecord> messages;  // by line
  for (const CommitBatch& batch : commits[0].batches) {
    for (const Record& r : batch.records) {
      if (const PutMessage* put = std::get_if<PutMessage>(&r)) {
        messages[put->message.line] = put->message;
        EXPECT_EQ(batch.party, put->message.peer);
      }
    }
  }
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[kLine].to, (wire::Address{"ru-genstaff", "cgs"}));
  EXPECT_EQ(messages["saceur-shape"].to, (wire::Address{"nato-shape", "ops"}));
  EXPECT_NE(messages[kLine].id, messages["saceur-shape"].id);
  EXPECT_NE(messages[kLine].envelope, messages["saceur-shape"].envelope);  // one each, signed
  for (const auto& [line, m] : messages) {
    EXPECT_EQ(m.broadcast, std::optional<std::string>(kId)) << line;
    EXPECT_EQ(m.precedence, Precedence::kFlash) << line;
  }
  out.clear();
  node_->handle(Committed{commits[0].id, std::vector<Status>(commits[0].batches.size())}, now_,
                out);
  const std::vector<Accepted> accepted = all_of<Accepted>(out);
  ASSERT_EQ(accepted.size(), 2u);
  EXPECT_EQ(accepted[0].request, 1u);
  EXPECT_EQ(accepted[0].line, kLine);
  EXPECT_EQ(accepted[1].request, 2u);
  EXPECT_EQ(accepted[1].line, "saceur-shape");
}

TEST_F(NodeBroadcastTest, OneLineThatWouldBeRefusedRefusesEveryLineAndQueuesNothing) {
  expect_refused(broadcast({kLine, "no-such-line"}), "no-such-line", StatusCode::kNotFound);
  expect_refused(broadcast({kLine, "idle"}), "idle", StatusCode::kFailedPrecondition);
  expect_refused(broadcast({"saceur-shape", "j3-cgs"}), "j3-cgs", StatusCode::kPermissionDenied);
  expect_refused(broadcast({kLine, "saceur-shape", kLine}), kLine, StatusCode::kInvalidArgument);
  Broadcast bad_body = broadcast({kLine, "saceur-shape"});
  bad_body.submits[1].type = "notify.missile-launch";  // its body {} misses required fields
  expect_refused(bad_body, "saceur-shape", StatusCode::kInvalidArgument);
  Broadcast bad_id = broadcast({kLine, "saceur-shape"});
  bad_id.id = "not-a-uuid";
  expect_refused(bad_id, "not-a-uuid", StatusCode::kInvalidArgument);
}

TEST_F(NodeTest, ATransactionFromAnUnknownCertificateIsRefusedWith403) {
  std::unique_ptr<Node> node = make_node(us_, ru_, "saceur", "cgs");
  std::vector<NodeAction> out;
  node->handle(PeerTransaction{9, std::string(64, 'c'), "{}"}, now_, out);
  const std::vector<Answer> answers = all_of<Answer>(out);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].request, 9u);
  EXPECT_EQ(answers[0].http_status, 403);
}

// Group commit: every batch waiting when CommitDue comes goes in one Commit, in the order the
// sessions emitted them; no second commit is asked for while one is being applied; Committed
// releases the submissions in order.
TEST_F(NodeTest, WritesWaitingWhenTheCommitIsDueGoInOneCommitInOrder) {
  std::unique_ptr<Node> node = make_node(us_, ru_, "saceur", "cgs");
  std::vector<NodeAction> out;
  node->handle(submit(1), now_, out);
  node->handle(submit(2, Precedence::kFlash), now_, out);
  EXPECT_EQ(all_of<ScheduleCommit>(out).size(), 1u);  // asked for once
  EXPECT_TRUE(all_of<Accepted>(out).empty());         // nothing is durable yet
  out.clear();
  node->handle(CommitDue{}, now_, out);
  const std::vector<Commit> commits = all_of<Commit>(out);
  ASSERT_EQ(commits.size(), 1u);
  // Message 1, the head of the transaction carrying it, message 2 (a FLASH), the head of the
  // FLASH lane's transaction carrying it.
  ASSERT_EQ(commits[0].batches.size(), 4u);
  for (std::size_t i = 1; i < commits[0].batches.size(); ++i) {
    EXPECT_LT(commits[0].batches[i - 1].batch, commits[0].batches[i].batch);
  }
  // While it is applied, a third submission waits: no second commit is asked for.
  out.clear();
  node->handle(submit(3), now_, out);
  EXPECT_TRUE(all_of<ScheduleCommit>(out).empty());
  EXPECT_TRUE(node->committing());
  out.clear();
  node->handle(Committed{commits[0].id, std::vector<Status>(4)}, now_, out);
  const std::vector<Accepted> accepted = all_of<Accepted>(out);
  ASSERT_EQ(accepted.size(), 2u);
  EXPECT_EQ(accepted[0].request, 1u);
  EXPECT_EQ(accepted[1].request, 2u);
  EXPECT_EQ(all_of<ScheduleCommit>(out).size(), 1u);  // now the third one's turn
  EXPECT_EQ(node->counters().commits, 1u);
  EXPECT_EQ(node->counters().batches_committed, 4u);
}

// Issue 15: with a window, the node posts a transaction per submission at once, each after
// the one before, without waiting for an answer; window 1 posts one and holds the other.
TEST_F(NodeTest, TheWindowPostsSeveralTransactionsBeforeAnyAnswer) {
  for (const std::size_t window : {std::size_t{1}, std::size_t{4}}) {
    std::unique_ptr<Node> node = make_node(us_, ru_, "saceur", "cgs", {}, window);
    std::vector<NodeAction> out;
    std::vector<NodeAction> every;
    node->handle(submit(1), now_, out);
    node->handle(submit(2), now_, out);
    node->handle(submit(3), now_, out);
    commit_all(*node, out, &every);
    const std::vector<Post> posts = all_of<Post>(every);
    ASSERT_EQ(posts.size(), window == 1 ? 1u : 3u) << "window " << window;
    for (std::size_t i = 0; i < posts.size(); ++i) {
      Result<wire::Transaction> tx = wire::parse_transaction(posts[i].body);
      ASSERT_TRUE(tx.is_ok());
      EXPECT_EQ(tx->after, i) << "window " << window;  // the head of the one before
    }
    EXPECT_EQ(node->session("ru-genstaff")->stats().queued, 3u);
  }
}

TEST_F(NodeTest, ABatchTheStoreRefusesRejectsItsSubmissionAlone) {
  std::unique_ptr<Node> node = make_node(us_, ru_, "saceur", "cgs");
  std::vector<NodeAction> out;
  node->handle(submit(1), now_, out);
  node->handle(submit(2), now_, out);
  out.clear();
  node->handle(CommitDue{}, now_, out);
  const std::vector<Commit> commits = all_of<Commit>(out);
  ASSERT_EQ(commits.size(), 1u);
  ASSERT_EQ(commits[0].batches.size(), 3u);  // message 1, the head carrying it, message 2
  out.clear();
  std::vector<Status> statuses(3);
  statuses[2] = Status::already_exists("conflict");
  node->handle(Committed{commits[0].id, statuses}, now_, out);
  const std::vector<Rejected> rejected = all_of<Rejected>(out);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].request, 2u);
  const std::vector<Accepted> accepted = all_of<Accepted>(out);
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0].request, 1u);
}

// The message crosses from one node to the other through the actions alone, and the receipt
// comes back: the whole of what a driver does, with no I/O.
TEST_F(NodeTest, AMessageIsDeliveredAndReceiptedBetweenTwoNodes) {
  std::unique_ptr<Node> us = make_node(us_, ru_, "saceur", "cgs");
  std::unique_ptr<Node> ru = make_node(ru_, us_, "cgs", "saceur");
  std::vector<NodeAction> out;
  us->handle(submit(1, Precedence::kFlash), now_, out);
  commit_all(*us, out);
  const std::vector<Post> posts = all_of<Post>(out);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].party, "ru-genstaff");
  EXPECT_EQ(posts[0].precedence, Precedence::kFlash);
  EXPECT_EQ(posts[0].timeout, NodeConfig{}.transaction_timeout);

  std::vector<NodeAction> at_ru;
  ru->handle(PeerTransaction{5, us_.bundle.tls_fingerprint, posts[0].body}, now_, at_ru);
  EXPECT_TRUE(all_of<Answer>(at_ru).empty());  // the receipt waits for the commit
  commit_all(*ru, at_ru);
  const std::vector<Answer> answers = all_of<Answer>(at_ru);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].request, 5u);
  ASSERT_EQ(answers[0].http_status, 200) << answers[0].body;
  EXPECT_EQ(ru->counters().messages_received, 1u);

  out.clear();
  us->handle(PostAnswered{"ru-genstaff", posts[0].path, posts[0].tx, 200, answers[0].body}, now_,
             out);
  commit_all(*us, out);
  bool delivered = false;
  for (const PeerNotice& n : all_of<PeerNotice>(out)) {
    delivered = delivered || n.notice.kind == NoticeKind::kDelivered;
  }
  EXPECT_TRUE(delivered);
  EXPECT_EQ(us->session("ru-genstaff")->stats().queued, 0u);
}

// Issue 11: an ack names the message by id; the node finds the session that holds it, and
// the receiving node's next deadline includes the deadlines of the peer's messages it holds.
TEST_F(NodeTest, AnAckByIdIsRoutedToTheSessionHoldingTheMessageAndAnUnknownIdIsNotFound) {
  std::unique_ptr<Node> us = make_node(us_, ru_, "saceur", "cgs");
  std::unique_ptr<Node> ru = make_node(ru_, us_, "cgs", "saceur");
  std::vector<NodeAction> out;
  us->handle(submit(1, Precedence::kFlash), now_, out);
  commit_all(*us, out);
  const std::vector<Post> posts = all_of<Post>(out);
  ASSERT_EQ(posts.size(), 1u);
  std::vector<NodeAction> at_ru;
  ru->handle(PeerTransaction{5, us_.bundle.tls_fingerprint, posts[0].body}, now_, at_ru);
  commit_all(*ru, at_ru);
  std::string id;
  for (const PeerNotice& n : all_of<PeerNotice>(at_ru)) {
    if (n.notice.kind == NoticeKind::kMessageReceived) id = n.notice.message_id;
  }
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(ru->session("us-eucom")->stats().inbound_unacknowledged, 1u);
  // The FLASH deadline (5 min) is the receiving node's work too (heartbeats aside).
  EXPECT_EQ(ru->next_work_deadline(), now_ + 5min);

  at_ru.clear();
  ru->handle(Acknowledge{7, "cgs", "0190a0a0-0000-7000-8000-000000000000"}, now_, at_ru);
  ASSERT_EQ(all_of<Rejected>(at_ru).size(), 1u);
  EXPECT_EQ(all_of<Rejected>(at_ru)[0].status.code(), StatusCode::kNotFound);
  EXPECT_FALSE(ru->committing());

  at_ru.clear();
  ru->handle(Acknowledge{8, "cgs", id}, now_, at_ru);
  std::vector<NodeAction> every;
  commit_all(*ru, at_ru, &every);
  ASSERT_EQ(all_of<Accepted>(every).size(), 1u);
  EXPECT_EQ(all_of<Accepted>(every)[0].request, 8u);
  EXPECT_EQ(ru->session("us-eucom")->stats().inbound_unacknowledged, 0u);
}

// Issue 16: a Cancel goes to the session that holds the message, which decides when the event
// reaches it: the message of the transaction in flight has left (409), the one queued behind
// it is cancelled once durable, an id no session holds is unknown.
// Issue 17, live reconfiguration: a peer pinned while running joins through Reconfigure (its
// session runs, a line to it carries messages, its certificate is known); a Reconfigure that
// would add this party itself, a peer already running or one without an address is refused
// whole, and nothing changes.
TEST_F(NodeTest, APeerAddedByReconfigureRunsAtOnceAndABadOneRefusesTheWholeChange) {
  const Side nato = make_side("nato-shape", 3, std::string(64, 'c'));
  std::unique_ptr<Node> node = make_node(us_, ru_, "saceur", "cgs");
  Line to_nato = make_line("saceur", nato.party, "ops");
  to_nato.id = "saceur-ops";
  const std::vector<Line> lines = {node->config().lines[0], to_nato};

  const auto reconfigure = [&](std::vector<wire::Bundle> bundles) {
    Reconfigure r;
    r.lines = lines;
    r.directory = node->config().directory;
    Principal saceur;
    saceur.id = "saceur";
    r.directory.principals = {saceur};  // the lines' local principal (check_directory)
    for (wire::Bundle& b : bundles) r.added_peers.push_back({std::move(b), Recovered{}});
    r.backlog_limit = 5;
    std::vector<NodeAction> out;
    node->handle(std::move(r), now_, out);
    const std::vector<Reconfigured> answers = all_of<Reconfigured>(out);
    EXPECT_EQ(answers.size(), 1u);
    return answers.empty() ? Status::internal("no answer") : answers[0].status;
  };
  wire::Bundle no_address = nato.bundle;
  no_address.federation.clear();
  EXPECT_EQ(reconfigure({no_address}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reconfigure({us_.bundle}).message(), "a peer cannot be this party itself");
  EXPECT_EQ(reconfigure({nato.bundle, ru_.bundle}).message(),
            "peer ru-genstaff is running already");
  EXPECT_EQ(reconfigure({nato.bundle, nato.bundle}).message(),
            "peer nato-shape is running already");
  EXPECT_EQ(node->peers().size(), 1u);  // every refusal left the node as it was
  EXPECT_EQ(node->config().lines.size(), 1u);
  EXPECT_EQ(node->config().backlog_limit, 0u);

  ASSERT_TRUE(reconfigure({nato.bundle}).is_ok());
  ASSERT_EQ(node->peers().size(), 2u);
  EXPECT_EQ(node->config().backlog_limit, 5u);
  EXPECT_EQ(node->party_of_fingerprint(nato.bundle.tls_fingerprint), nato.party);
  std::vector<NodeAction> out;
  Submit s = submit(1);
  s.line = "saceur-ops";
  node->handle(s, now_, out);
  std::vector<NodeAction> every;
  commit_all(*node, out, &every);
  const std::vector<Accepted> accepted = all_of<Accepted>(every);
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0].line, "saceur-ops");
  // It leaves for the new peer on one of its paths.
  bool posted = false;
  for (const Post& p : all_of<Post>(every)) posted = posted || p.party == nato.party;
  for (const Post& p : all_of<Post>(out)) posted = posted || p.party == nato.party;
  EXPECT_TRUE(posted);
}

TEST_F(NodeTest, ACancelIsRoutedToTheSessionHoldingTheMessageWhichDecides) {
  std::unique_ptr<Node> us = make_node(us_, ru_, "saceur", "cgs");
  std::vector<NodeAction> out;
  std::vector<NodeAction> every;
  us->handle(submit(1, Precedence::kFlash), now_, out);
  commit_all(*us, out, &every);
  ASSERT_EQ(all_of<Post>(every).size(), 1u);  // in flight, never answered
  out.clear();
  us->handle(submit(2), now_, out);
  commit_all(*us, out, &every);
  std::map<RequestId, std::string> ids;
  for (const Accepted& a : all_of<Accepted>(every)) ids[a.request] = a.message_id;
  ASSERT_EQ(ids.size(), 2u);

  out.clear();
  us->handle(Cancel{10, "saceur", ids[1]}, now_, out);
  ASSERT_EQ(all_of<Rejected>(out).size(), 1u);
  EXPECT_EQ(all_of<Rejected>(out)[0].status.code(), StatusCode::kFailedPrecondition);
  out.clear();
  us->handle(Cancel{11, "saceur", "0190a0a0-0000-7000-8000-000000000000"}, now_, out);
  ASSERT_EQ(all_of<Rejected>(out).size(), 1u);
  EXPECT_EQ(all_of<Rejected>(out)[0].status.code(), StatusCode::kNotFound);
  EXPECT_FALSE(us->committing());

  out.clear();
  every.clear();
  us->handle(Cancel{12, "saceur", ids[2]}, now_, out);
  EXPECT_TRUE(all_of<Accepted>(out).empty());  // not before it is durable
  commit_all(*us, out, &every);
  ASSERT_EQ(all_of<Accepted>(every).size(), 1u);
  EXPECT_EQ(all_of<Accepted>(every)[0].request, 12u);
  EXPECT_EQ(all_of<Accepted>(every)[0].state, MessageState::kCancelled);
  EXPECT_EQ(us->session("ru-genstaff")->stats().queued, 1u);
  EXPECT_EQ(us->session("ru-genstaff")->stats().messages_cancelled, 1u);
}

// Path choice: traffic takes the best path as it leaves; when the primary goes down under
// it, the transaction in flight there is abandoned and the next one takes the backup.
TEST_F(NodeTest, TrafficLeavesADownPathAndAbandonsWhatIsInFlightOnIt) {
  std::unique_ptr<Node> us = make_node(us_, ru_, "saceur", "cgs");
  std::vector<NodeAction> out;
  // Both paths answer their first heartbeats: both up, the primary carries the traffic.
  us->handle(HeartbeatAnsweredOn{"ru-genstaff", 0, 1}, now_, out);
  us->handle(HeartbeatAnsweredOn{"ru-genstaff", 1, 2}, now_, out);
  out.clear();
  us->handle(submit(1), now_, out);
  commit_all(*us, out);
  std::vector<Post> posts = all_of<Post>(out);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].path, 0u);

  // The primary's heartbeats fail until it is down; the backup keeps answering.
  out.clear();
  const int misses = PathConfig{}.misses_to_down;
  for (int i = 0; i < misses; ++i) {
    now_ += 1s;
    std::vector<NodeAction> tick;
    us->handle(Tick{}, now_, tick);
    for (const PostHeartbeat& beat : all_of<PostHeartbeat>(tick)) {
      if (beat.path == 0) {
        us->handle(HeartbeatFailedOn{"ru-genstaff", 0, beat.id, "connection refused"}, now_, out);
      } else {
        us->handle(HeartbeatAnsweredOn{"ru-genstaff", 1, beat.id}, now_, out);
      }
    }
  }
  const std::vector<AbandonPath> abandoned = all_of<AbandonPath>(out);
  ASSERT_EQ(abandoned.size(), 1u);
  EXPECT_EQ(abandoned[0].party, "ru-genstaff");
  EXPECT_EQ(abandoned[0].path, 0u);
  bool alerted = false;
  for (const PathNotice& n : all_of<PathNotice>(out)) {
    alerted = alerted || (n.kind == PathNotice::Kind::kChanged && n.alert &&
                          n.address == "ru-genstaff-backup:7001");
  }
  EXPECT_TRUE(alerted);

  // The abandoned transaction fails; the session sends it again, now on the backup.
  out.clear();
  us->handle(PostFailed{"ru-genstaff", 0, posts[0].tx, "abandoned: the path is down"}, now_, out);
  now_ += 11s;  // past any retry backoff
  us->handle(Tick{}, now_, out);
  commit_all(*us, out);
  posts = all_of<Post>(out);
  ASSERT_FALSE(posts.empty());
  EXPECT_EQ(posts.back().path, 1u);
}

// A window of transactions abandoned with their path counts as the path going down once, not
// as that many failed transactions: once its heartbeats answer again the path is up and
// traffic moves back, without waiting PathConfig::traffic_retry_after.
TEST_F(NodeTest, AWindowAbandonedWithItsPathIsNoTrafficFailure) {
  std::unique_ptr<Node> us = make_node(us_, ru_, "saceur", "cgs", {}, /*window=*/4);
  std::vector<NodeAction> out;
  us->handle(HeartbeatAnsweredOn{"ru-genstaff", 0, 1}, now_, out);
  us->handle(HeartbeatAnsweredOn{"ru-genstaff", 1, 2}, now_, out);
  std::vector<Post> posts;
  for (RequestId r = 1; r <= 4; ++r) {
    out.clear();
    us->handle(submit(r), now_, out);
    commit_all(*us, out);
    for (const Post& p : all_of<Post>(out)) posts.push_back(p);
  }
  const PathConfig config;
  ASSERT_GE(posts.size(), static_cast<std::size_t>(config.traffic_failures_to_down));
  for (const Post& p : posts) EXPECT_EQ(p.path, 0u);

  // The primary's heartbeats fail until it is down: what is in flight on it is abandoned.
  const auto beat = [&](bool primary_answers) {
    now_ += 1s;
    std::vector<NodeAction> tick;
    us->handle(Tick{}, now_, tick);
    for (const PostHeartbeat& b : all_of<PostHeartbeat>(tick)) {
      if (b.path == 0 && !primary_answers) {
        us->handle(HeartbeatFailedOn{"ru-genstaff", 0, b.id, "connection refused"}, now_, out);
      } else {
        us->handle(HeartbeatAnsweredOn{"ru-genstaff", b.path, b.id}, now_, out);
      }
    }
  };
  out.clear();
  for (int i = 0; i < config.misses_to_down; ++i) beat(false);
  ASSERT_EQ(all_of<AbandonPath>(out).size(), 1u);
  for (const Post& p : posts) {
    us->handle(PostFailed{"ru-genstaff", 0, p.tx, "abandoned: the path is down"}, now_, out);
  }
  const PathStatus& primary = us->peers()[0].paths->paths()[0];
  EXPECT_EQ(primary.consecutive_traffic_failures, 0);

  // The primary answers again: up after answers_to_up heartbeats, and traffic moves back.
  for (int i = 0; i < config.answers_to_up; ++i) beat(true);
  EXPECT_EQ(us->peers()[0].paths->paths()[0].state, PathState::kUp);
  EXPECT_EQ(us->peers()[0].paths->best_path(), 0u);
}

}  // namespace
}  // namespace parley::core
