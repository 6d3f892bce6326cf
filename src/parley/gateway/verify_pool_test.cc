#include "parley/gateway/verify_pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "parley/base/rng.h"
#include "parley/base/time.h"
#include "parley/core/precheck.h"
#include "parley/crypto/crypto.h"
#include "parley/crypto/facts.h"
#include "parley/ledger/formats.h"
#include "parley/wire/dsse.h"
#include "parley/wire/wire.h"

namespace parley::gateway {
namespace {

constexpr std::string_view kParty = "ru-genstaff";

struct Fixture {
  SeededRng rng{7};
  crypto::Keys keys = crypto::generate_keys(rng);
  crypto::Keys forger = crypto::generate_keys(rng);
  crypto::SealKey seal_key;
  crypto::SealKey other_seal_key;

  Fixture() {
    rng.fill(seal_key.bytes);
    rng.fill(other_seal_key.bytes);
  }

  std::string envelope(std::uint64_t seq, const crypto::SigningKey& by) {
    wire::Draft d;
    d.id = uuid_v7(time_from_unix_ms(1'795'000'000'000), rng);
    d.line = "hotline";
    d.seq = seq;
    d.from = {std::string(kParty), "cgs"};
    d.to = {"us-eucom", "saceur"};
    d.type = "text";
    d.created = time_from_unix_ms(1'795'000'000'000);
    d.content = wire::Content{"{}", "message " + std::to_string(seq)};
    return wire::encode_envelope(wire::seal_and_sign(d, seal_key, by, kParty, rng).envelope);
  }

  core::PrecheckItem item(std::string text, const crypto::SealKey& seal) const {
    return core::PrecheckItem{core::PrecheckItem::Kind::kEnvelope, std::move(text),
                              std::string(kParty), keys.verify, seal};
  }

  // Good envelopes, forged ones (another key's signature), ones sealed under another key
  // than the item's, and a head.
  std::vector<core::PrecheckItem> mixed_items(std::size_t n) {
    std::vector<core::PrecheckItem> items;
    for (std::size_t i = 0; i < n; ++i) {
      switch (i % 4) {
        case 0:
          items.push_back(item(envelope(i + 1, keys.signing), seal_key));
          break;
        case 1:
          items.push_back(item(envelope(i + 1, forger.signing), seal_key));
          break;
        case 2:
          items.push_back(item(envelope(i + 1, keys.signing), other_seal_key));
          break;
        default: {
          const wire::Dsse head =
              wire::sign_dsse(ledger::kSthDomain, to_bytes("{\"size\":" + std::to_string(i) + "}"),
                              i % 8 == 3 ? keys.signing : forger.signing, kParty);
          items.push_back(core::PrecheckItem{core::PrecheckItem::Kind::kHead,
                                             wire::encode_dsse(head),
                                             std::string(kParty),
                                             keys.verify,
                                             {}});
        }
      }
    }
    return items;
  }
};

// What the pool answers for `items`, waited for (the test's thread is not the workers').
crypto::Facts run_on(VerifyPool& pool, std::vector<core::PrecheckItem> items) {
  std::mutex mutex;
  std::condition_variable cv;
  std::optional<crypto::Facts> result;
  pool.submit(std::move(items), [&](crypto::Facts facts) {
    const std::lock_guard<std::mutex> lock(mutex);
    result = std::move(facts);
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(mutex);
  EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return result.has_value(); }));
  return result ? std::move(*result) : crypto::Facts();
}

// Each envelope item opened with the facts and without: the same verdict, the same words.
void expect_same_verdicts(const std::vector<core::PrecheckItem>& items,
                          const crypto::Facts& facts) {
  for (const core::PrecheckItem& item : items) {
    if (item.kind == core::PrecheckItem::Kind::kHead) {
      const Result<wire::Dsse> a =
          wire::open_dsse(item.text, ledger::kSthDomain, item.key, item.party, 1 << 20, &facts);
      const Result<wire::Dsse> b =
          wire::open_dsse(item.text, ledger::kSthDomain, item.key, item.party, 1 << 20);
      EXPECT_EQ(a.is_ok(), b.is_ok());
      if (!a.is_ok() && !b.is_ok()) {
        EXPECT_EQ(a.status().to_string(), b.status().to_string());
      }
      continue;
    }
    const Result<wire::Envelope> a = wire::open_envelope(item.text, item.key, item.party, &facts);
    const Result<wire::Envelope> b = wire::open_envelope(item.text, item.key, item.party);
    ASSERT_EQ(a.is_ok(), b.is_ok());
    if (!a.is_ok()) {
      EXPECT_EQ(a.status().to_string(), b.status().to_string());
      continue;
    }
    const Result<wire::Opened> x = wire::open_content(a->payload, item.seal_key, &facts);
    const Result<wire::Opened> y = wire::open_content(b->payload, item.seal_key);
    ASSERT_EQ(x.is_ok(), y.is_ok());
    if (x.is_ok()) {
      EXPECT_EQ(x->content.text, y->content.text);
      EXPECT_EQ(x->salt, y->salt);
    } else {
      EXPECT_EQ(x.status().to_string(), y.status().to_string());
    }
  }
}

TEST(VerifyPoolTest, FactsEqualInlinePrechecksForGoodAndForgedItems) {
  Fixture f;
  const std::vector<core::PrecheckItem> items = f.mixed_items(40);
  crypto::Facts inline_facts;
  for (const core::PrecheckItem& item : items) inline_facts.merge(core::run_precheck(item));

  VerifyPool pool(3);
  const crypto::Facts facts = run_on(pool, items);
  // 10 good envelopes (signature and opening), 10 sealed for another key (signature only),
  // 5 good heads; nothing of the forged ones.
  EXPECT_EQ(facts.signatures(), 25U);
  EXPECT_EQ(facts.openings(), 10U);
  EXPECT_EQ(facts.signatures(), inline_facts.signatures());
  EXPECT_EQ(facts.openings(), inline_facts.openings());
  expect_same_verdicts(items, facts);
}

TEST(VerifyPoolTest, AForgedSignatureIsNeverAFact) {
  Fixture f;
  std::vector<core::PrecheckItem> items;
  items.push_back(f.item(f.envelope(1, f.forger.signing), f.seal_key));
  VerifyPool pool(2);
  const crypto::Facts facts = run_on(pool, items);
  EXPECT_EQ(facts.signatures(), 0U);
  EXPECT_EQ(facts.openings(), 0U);
  const Result<wire::Envelope> opened =
      wire::open_envelope(items[0].text, f.keys.verify, kParty, &facts);
  ASSERT_FALSE(opened.is_ok());
  EXPECT_NE(opened.status().message().find("bad signature"), std::string::npos)
      << opened.status().to_string();
}

TEST(VerifyPoolTest, ManyRequestsFromManyThreadsAreEachAnsweredOnce) {
  Fixture f;
  const std::vector<core::PrecheckItem> items = f.mixed_items(8);
  VerifyPool pool(0);  // one per core
  EXPECT_GE(pool.threads(), 1U);
  std::atomic<int> answered{0};
  std::atomic<int> wrong{0};
  std::mutex mutex;
  std::condition_variable cv;
  constexpr int kRequests = 50;
  for (int r = 0; r < kRequests; ++r) {
    pool.submit(items, [&](crypto::Facts facts) {
      if (facts.signatures() != 5U || facts.openings() != 2U) ++wrong;
      const std::lock_guard<std::mutex> lock(mutex);
      ++answered;
      cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(mutex);
  EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return answered == kRequests; }));
  EXPECT_EQ(wrong.load(), 0);
}

TEST(VerifyPoolTest, AnEmptyRequestIsAnsweredAtOnce) {
  VerifyPool pool(1);
  bool answered = false;
  pool.submit({}, [&](crypto::Facts facts) {
    answered = true;
    EXPECT_EQ(facts.signatures(), 0U);
  });
  EXPECT_TRUE(answered);
}

TEST(VerifyPoolTest, StopWithWorkPendingDropsItAndReturns) {
  Fixture f;
  const std::vector<core::PrecheckItem> items = f.mixed_items(40);
  std::atomic<int> answered{0};
  constexpr int kRequests = 200;  // 8,000 items: far more than one worker runs before stop()
  {
    VerifyPool pool(1);
    for (int r = 0; r < kRequests; ++r) {
      pool.submit(items, [&](crypto::Facts) { ++answered; });
    }
    pool.stop();  // returns with most of the work not started
    const int at_stop = answered.load();
    EXPECT_LT(at_stop, kRequests);
    pool.submit(items, [&](crypto::Facts) { ++answered; });  // after stop: never answered
    pool.stop();                                             // idempotent
    EXPECT_EQ(answered.load(), at_stop);
  }  // and the destructor after stop()
  EXPECT_LT(answered.load(), kRequests);
}

}  // namespace
}  // namespace parley::gateway
