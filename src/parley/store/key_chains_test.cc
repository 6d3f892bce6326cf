// store/key_chains.h: a pinned party's keys in force read from the store, as the peer session
// rebuilds them at start (core::extend_chain), for the readers outside the session.
#include "parley/store/key_chains.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/core/peer_log_for_test.h"
#include "parley/core/session_harness.h"
#include "parley/store/memory/memory_store.h"

namespace parley::store {
namespace {

using core::kRu;
using core::kUs;

// ru-genstaff's rotation received by us-eucom's session and made durable in `store`.
struct Received {
  core::Harness h;
  core::RuLog log{h};
  MemoryStore store{MemoryStore::new_disk()};
  crypto::Keys next;

  Received() {
    SeededRng keys(7);
    next = crypto::generate_keys(keys);
    log.envelope(h.keys(kRu).keys, 1);
    log.rotation(h.keys(kRu).keys, next, 1);
    const std::vector<core::Action> out = h.feed_durable(
        kUs, core::TransactionReceived{1, log.transaction({0, 1}, 2, h.keys(kRu).keys, 0)});
    for (const core::Persist& p : core::all_of<core::Persist>(out)) {
      EXPECT_TRUE(store.apply(p.records).is_ok());
    }
  }
};

TEST(KeyChainsTest, ThePinnedChainIsTheSessionsChainFromTheStoredRotations) {
  Received r;
  const wire::Bundle& ru = r.h.keys(kRu).bundle;
  const Result<ledger::KeyChain> chain = pinned_chain(r.store, ru);
  ASSERT_TRUE(chain.is_ok()) << chain.status().to_string();
  ASSERT_EQ(chain->links().size(), 2u);
  EXPECT_EQ(chain->newest().key, r.next.verify);
  EXPECT_EQ(chain->newest().from_index, 2u);
  EXPECT_EQ(chain->newest().key, r.h.session(kUs).peer_chain().newest().key);
  EXPECT_EQ(accepted_fingerprints(ru, *chain),
            (std::vector<std::string>{ru.tls_fingerprint, std::string(64, 'e')}));

  // A party with no rotation stored: its bundle's key and certificate alone.
  const wire::Bundle& us = r.h.keys(kUs).bundle;
  const Result<ledger::KeyChain> plain = pinned_chain(r.store, us);
  ASSERT_TRUE(plain.is_ok());
  EXPECT_EQ(plain->links().size(), 1u);
  EXPECT_EQ(plain->newest().key, us.sign_key);
  EXPECT_EQ(accepted_fingerprints(us, *plain), (std::vector<std::string>{us.tls_fingerprint}));
}

TEST(KeyChainsTest, AStoredRotationThatDoesNotFollowFromTheBundleIsDataLoss) {
  Received r;
  // Pinned under another key than the one that signed the rotation (a re-pinned bundle):
  // the stored statement does not open with it.
  wire::Bundle other = r.h.keys(kRu).bundle;
  other.sign_key = r.next.verify;
  const Result<ledger::KeyChain> chain = pinned_chain(r.store, other);
  ASSERT_FALSE(chain.is_ok());
  EXPECT_EQ(chain.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(chain.status().message().find("stored key rotation 1 (entry 1) of 'ru-genstaff'"),
            std::string::npos)
      << chain.status().to_string();
}

// A party's own chain in its log for one peer (the reader is the party itself: its rows of
// `rotations` are per peer). Here the rows are ru-genstaff's, of its log for us-eucom.
TEST(KeyChainsTest, TheOwnChainOfALogIsBuiltFromThatLogsRotationsOnly) {
  Received r;
  const wire::Bundle& ru = r.h.keys(kRu).bundle;
  const Result<std::vector<core::PutRotation>> rows =
      own_rotations_in(r.store, "ru-genstaff", "us-eucom");
  ASSERT_TRUE(rows.is_ok()) << rows.status().to_string();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].index, 1u);
  const Result<ledger::KeyChain> chain = own_chain(r.store, "ru-genstaff", ru.sign_key, "us-eucom");
  ASSERT_TRUE(chain.is_ok()) << chain.status().to_string();
  ASSERT_EQ(chain->links().size(), 2u);
  EXPECT_EQ(chain->head_key(2), ru.sign_key);  // the head that first holds the statement
  EXPECT_EQ(chain->head_key(3), r.next.verify);
  // Another log of the party holds none of it.
  const Result<ledger::KeyChain> other =
      own_chain(r.store, "ru-genstaff", ru.sign_key, "nato-shape");
  ASSERT_TRUE(other.is_ok());
  EXPECT_EQ(other->links().size(), 1u);
  EXPECT_TRUE(own_rotations_in(r.store, "ru-genstaff", "nato-shape")->empty());
  // From another first key, the stored statement does not follow: kDataLoss.
  const Result<ledger::KeyChain> wrong =
      own_chain(r.store, "ru-genstaff", r.next.verify, "us-eucom");
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace parley::store
