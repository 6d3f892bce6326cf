// libpq is opened when a PostgreSQL store is first opened, never before (postgres/libpq.h):
// a process on SQLite does not map it. One test in a binary of its own, since any earlier
// PostgreSQL test in the same process would already have loaded it.

#include "parley/store/postgres/libpq.h"

#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "parley/store/postgres/postgres_store.h"

namespace parley::store {
namespace {

bool libpq_mapped() {
  std::ifstream maps("/proc/self/maps");
  const std::string text{std::istreambuf_iterator<char>(maps), std::istreambuf_iterator<char>()};
  EXPECT_FALSE(text.empty());
  return text.find("/libpq.so") != std::string::npos;
}

TEST(LibpqTest, LoadedOnlyWhenAPostgresStoreIsOpened) {
  EXPECT_FALSE(libpq_mapped());
  // No server at this socket directory: the connection fails, after libpq was loaded.
  auto store = open_postgres_store("postgresql:///parley?host=/nonexistent-parley-socket-dir");
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable) << store.status().message();
  EXPECT_TRUE(libpq_mapped());
  EXPECT_TRUE(load_libpq().is_ok());
}

TEST(LibpqTest, AMalformedUrlIsRefusedWithLibpqsReason) {
  auto store = open_postgres_store("postgresql:///db?nosuchoption=1");
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument) << store.status().message();
}

}  // namespace
}  // namespace parley::store
