// Real processes, a real PostgreSQL: us-eucom runs an active and a standby gateway on one
// database (HaBed), ru-genstaff one gateway on SQLite, traffic flows both ways.
//  - SIGKILL of the active mid-traffic: the standby takes the lease over, recovers and serves;
//    every accepted message is delivered exactly once and both parties' transcripts verify.
//  - SIGSTOP of the active until the standby has taken over, then SIGCONT: the deposed one
//    writes nothing more (an audit trigger records the PostgreSQL session of every row
//    written), steps down and answers /readyz as a standby.
#include <signal.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "ha_bed.h"
#include <gtest/gtest.h>
#include <sys/wait.h>

#include "parley/store/postgres/pg_test_server.h"
#include "parley/store/postgres/postgres_store.h"

namespace parley::testing {
namespace {

using json::Json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// What one side submitted: accepted ids (with their text) and failed requests (in doubt).
struct Sent {
  std::map<std::string, std::string> accepted;  // id -> text
  std::size_t in_doubt = 0;
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Polls `condition` every 50 ms until it holds or `limit` passes.
bool eventually(const std::function<bool()>& condition, Clock::duration limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

class HaStandbyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::string> url = store::test::fresh_postgres_schema();
    ASSERT_TRUE(url.is_ok()) << url.status().to_string();
    Result<std::unique_ptr<HaBed>> created = HaBed::create(PARLEY_BINARY, *url, "2s");
    ASSERT_TRUE(created.is_ok()) << created.status().to_string();
    ha_ = std::move(*created);
    ASSERT_TRUE(ha_->spawn(ha_->a()).is_ok());
    Result<Party*> active = ha_->wait_active(30s);
    ASSERT_TRUE(active.is_ok() && *active == &ha_->a()) << ha_->log_of(ha_->a());
    ASSERT_TRUE(ha_->spawn(ha_->b()).is_ok());
    const Status standby = ha_->wait_standby(ha_->b(), 30s);
    ASSERT_TRUE(standby.is_ok()) << standby.to_string() << "\n" << ha_->log_of(ha_->b());
    ASSERT_TRUE(ha_->bed().start(ha_->ru()).is_ok());
  }

  // Sends one message from us-eucom through whichever instance is active (`active`, looked up
  // again after a failure, within 30 s).
  void send_from_us(const std::string& text, Party*& active) {
    const Json request = {{"line", "hotline"}, {"text", text}};
    Result<Json> answer = ha_->call(*active, "POST", "/api/v1/messages", json::dump(request));
    if (answer.is_ok()) {
      us_.accepted[answer->value("id", "")] = text;
      return;
    }
    ++us_.in_doubt;
    Result<Party*> now = ha_->wait_active(30s);
    if (now.is_ok()) active = *now;
  }

  void send_from_ru(const std::string& text) {
    const Json request = {{"line", "hotline"}, {"text", text}};
    Result<Json> answer = ha_->call(ha_->ru(), "POST", "/api/v1/messages", json::dump(request));
    if (answer.is_ok()) {
      ru_.accepted[answer->value("id", "")] = text;
    } else {
      ++ru_.in_doubt;
    }
  }

  // Every message `sent` accepted is in `inbound` exactly once; nothing else arrived but what
  // a failed request may have stored.
  static void expect_delivered_once(const Sent& sent,
                                    const std::vector<core::MessageRecord>& inbound,
                                    const std::string& to) {
    std::set<std::string> ids;
    std::map<std::string, int> texts;
    for (const core::MessageRecord& m : inbound) {
      EXPECT_TRUE(ids.insert(m.id).second) << to << ": delivered twice: " << m.id;
      ++texts[m.content.text];
    }
    for (const auto& [text, count] : texts) EXPECT_EQ(count, 1) << to << ": twice: " << text;
    for (const auto& [id, text] : sent.accepted) {
      EXPECT_EQ(ids.count(id), 1U) << to << ": accepted message '" << text << "' was lost";
    }
    EXPECT_LE(ids.size(), sent.accepted.size() + sent.in_doubt) << to;
  }

  // Both parties' stores: each side's accepted messages are in the other's, once.
  void expect_everything_delivered_once() {
    store::MessageQuery query;
    query.direction = core::Direction::kInbound;
    query.limit = 100'000;
    Result<std::unique_ptr<store::Store>> ru_store = launch::open_store(ha_->ru());
    ASSERT_TRUE(ru_store.is_ok()) << ru_store.status().to_string();
    Result<std::vector<core::MessageRecord>> at_ru = (*ru_store)->list_messages(query);
    ASSERT_TRUE(at_ru.is_ok()) << at_ru.status().to_string();
    expect_delivered_once(us_, *at_ru, "ru-genstaff");
    Result<std::unique_ptr<store::Store>> us_store = store::open_postgres_store(ha_->pg_url());
    ASSERT_TRUE(us_store.is_ok()) << us_store.status().to_string();
    Result<std::vector<core::MessageRecord>> at_us = (*us_store)->list_messages(query);
    ASSERT_TRUE(at_us.is_ok()) << at_us.status().to_string();
    expect_delivered_once(ru_, *at_us, "us-eucom");
  }

  void expect_transcripts_verify() {
    const Status us = ha_->export_and_verify(ha_->b().home, "ru-genstaff", "t-us");
    EXPECT_TRUE(us.is_ok()) << us.to_string();
    const Status ru = ha_->export_and_verify(ha_->ru().home, "us-eucom", "t-ru");
    EXPECT_TRUE(ru.is_ok()) << ru.to_string();
  }

  std::unique_ptr<HaBed> ha_;
  Sent us_;
  Sent ru_;
};

TEST_F(HaStandbyTest, SigkillOfTheActiveHandsOverToTheStandbyAndLosesNothing) {
  constexpr std::size_t kEachWay = 150;
  std::atomic<std::size_t> attempted{0};
  // SIGKILL of the active a third of the way in, while a submission may be in flight.
  std::thread killer([&] {
    const auto deadline = Clock::now() + 120s;
    while (attempted.load() < kEachWay / 3 && Clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    ::kill(ha_->a().pid, SIGKILL);
  });
  Party* active = &ha_->a();
  for (std::size_t n = 0; n < kEachWay; ++n) {
    send_from_us("from us " + std::to_string(n), active);
    send_from_ru("from ru " + std::to_string(n));
    attempted = n + 1;
  }
  killer.join();
  launch::kill_hard(ha_->a());  // reaps it
  EXPECT_EQ(active, &ha_->b()) << "the standby should have taken over";
  EXPECT_GE(us_.accepted.size(), kEachWay * 8 / 10);
  EXPECT_EQ(ru_.accepted.size(), kEachWay);

  const Status drained = ha_->wait_drained(120s);
  ASSERT_TRUE(drained.is_ok()) << drained.to_string() << "\n" << ha_->log_of(ha_->b());
  EXPECT_TRUE(contains(ha_->log_of(ha_->b()), "took the lease at epoch 2"));
  expect_everything_delivered_once();
  expect_transcripts_verify();

  // The killed instance comes back as the standby.
  ASSERT_TRUE(ha_->spawn(ha_->a()).is_ok());
  EXPECT_TRUE(ha_->wait_standby(ha_->a(), 30s).is_ok()) << ha_->log_of(ha_->a());
}

// Rows written into the shared schema, by PostgreSQL session name (application_name is the
// lease holder's name, which starts with "pid PID ").
std::string rows_written_by(const std::string& url, pid_t pid) {
  Result<std::string> n = store::test::postgres_sql(
      url, "SELECT count(*) FROM ha_audit WHERE app LIKE 'pid " + std::to_string(pid) + " %'");
  return n.is_ok() ? *n : "error: " + n.status().to_string();
}

// How process `pid` (a child) ended, or "running", for a failure's message.
std::string exit_of(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) != pid) return "running";
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "exit " + std::to_string(WEXITSTATUS(status));
}

// The database's sessions, for a failure's message.
std::string sessions(const std::string& url) {
  Result<std::string> rows = store::test::postgres_sql(
      url,
      "SELECT string_agg(application_name || ' [' || state || coalesce(' wait ' || "
      "wait_event_type || '/' || wait_event, '') || '] ' || left(query, 80), E'\n') "
      "FROM pg_stat_activity WHERE backend_type = 'client backend'");
  return rows.is_ok() ? *rows : rows.status().to_string();
}

Status install_audit(const std::string& url) {
  std::string sql =
      "CREATE TABLE ha_audit (app TEXT, tbl TEXT, at TIMESTAMPTZ DEFAULT clock_timestamp());"
      "CREATE FUNCTION ha_audit_row() RETURNS trigger AS $$ BEGIN "
      "INSERT INTO ha_audit (app, tbl) VALUES (current_setting('application_name'), "
      "TG_TABLE_NAME); RETURN NULL; END $$ LANGUAGE plpgsql;";
  for (const char* table : {"messages", "log_entries", "heads", "inclusion", "evidence"}) {
    sql += std::string("CREATE TRIGGER ha_audit_") + table + " AFTER INSERT OR UPDATE ON " + table +
           " FOR EACH ROW EXECUTE FUNCTION ha_audit_row();";
  }
  return store::test::postgres_sql(url, sql).status();
}

TEST_F(HaStandbyTest, ADeposedActiveThatComesBackWritesNothingAndStandsBy) {
  ASSERT_TRUE(install_audit(ha_->pg_url()).is_ok());
  Party* active = &ha_->a();
  for (int n = 0; n < 10; ++n) {
    send_from_us("before " + std::to_string(n), active);
    send_from_ru("before " + std::to_string(n));
  }
  ASSERT_TRUE(ha_->wait_drained(60s).is_ok());
  const pid_t a = ha_->a().pid;
  ASSERT_NE(rows_written_by(ha_->pg_url(), a), "0") << "the audit must see a's writes";

  ASSERT_EQ(::kill(a, SIGSTOP), 0);
  const bool taken_over = eventually([&] { return ha_->readyz(ha_->b()).first == 200; }, 60s);
  ASSERT_TRUE(taken_over) << ha_->log_of(ha_->b());
  const std::string written_before = rows_written_by(ha_->pg_url(), a);
  active = &ha_->b();
  for (int n = 0; n < 10; ++n) {
    send_from_us("while stopped " + std::to_string(n), active);
    send_from_ru("while stopped " + std::to_string(n));
  }

  ASSERT_EQ(::kill(a, SIGCONT), 0);
  const Status standby = ha_->wait_standby(ha_->a(), 30s);
  EXPECT_TRUE(standby.is_ok()) << standby.to_string() << "\n"
                               << ha_->log_of(ha_->a()) << "\nsessions: " << sessions(ha_->pg_url())
                               << "\nexit: " << exit_of(a);
  EXPECT_TRUE(eventually([&] { return contains(ha_->log_of(ha_->a()), "stepping down"); }, 30s))
      << ha_->log_of(ha_->a());
  for (int n = 0; n < 10; ++n) {
    send_from_us("after " + std::to_string(n), active);
    send_from_ru("after " + std::to_string(n));
  }
  ASSERT_TRUE(ha_->wait_drained(60s).is_ok()) << ha_->log_of(ha_->b());
  EXPECT_EQ(active, &ha_->b());
  EXPECT_EQ(ha_->readyz(ha_->b()).first, 200);
  EXPECT_EQ(rows_written_by(ha_->pg_url(), a), written_before)
      << "the deposed active wrote after the takeover";
  EXPECT_EQ(us_.in_doubt, 0U);
  expect_everything_delivered_once();
  expect_transcripts_verify();
}

}  // namespace
}  // namespace parley::testing
