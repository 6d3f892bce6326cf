// The gateway's lock on its home and its SQLite store (HomeLock, home.h).
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <sys/file.h>

#include "parley/gateway/home.h"

namespace parley::gateway {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kLockFile = "gateway.lock";

std::string errno_text(int err) { return std::strerror(err); }

// The pid a lock file names, as written by lock_exclusively ("unknown" if it names none: its
// holder may not have written it yet).
std::string holder_of(int fd) {
  std::array<char, 32> buffer{};
  const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), 0);
  std::string pid;
  for (ssize_t i = 0; i < n && buffer[static_cast<std::size_t>(i)] >= '0' &&
                      buffer[static_cast<std::size_t>(i)] <= '9';
       ++i) {
    pid.push_back(buffer[static_cast<std::size_t>(i)]);
  }
  return pid.empty() ? "unknown" : pid;
}

// Opens `path` (never through a symlink), flocks it without waiting and writes our pid in it.
// `what` names the thing it guards in the refusal.
Result<int> lock_exclusively(const fs::path& path, const std::string& what) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return Status::unavailable(fmt::format("cannot open {}: {}", path.string(), errno_text(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string holder = holder_of(fd);
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return Status::failed_precondition(fmt::format(
          "{} is in use by another parley gateway (pid {} holds {})", what, holder, path.string()));
    }
    return Status::unavailable(fmt::format("cannot lock {}: {}", path.string(), errno_text(error)));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int error = errno;
    ::close(fd);
    return Status::unavailable(
        fmt::format("cannot write {}: {}", path.string(), errno_text(error)));
  }
  return fd;
}

}  // namespace

Result<HomeLock> HomeLock::acquire(const Home& home) {
  HomeLock lock;
  PARLEY_ASSIGN_OR_RETURN(const int home_fd,
                          lock_exclusively(home.dir / kLockFile, "the home " + home.dir.string()));
  lock.fds_.push_back(home_fd);
  if (!home.config.store_url.empty()) return lock;
  fs::path store_lock = home.store_path();
  store_lock += ".lock";
  PARLEY_ASSIGN_OR_RETURN(const int store_fd,
                          lock_exclusively(store_lock, "the store " + home.store_path().string()));
  lock.fds_.push_back(store_fd);
  return lock;
}

HomeLock::HomeLock(HomeLock&& other) noexcept : fds_(std::move(other.fds_)) { other.fds_.clear(); }

HomeLock& HomeLock::operator=(HomeLock&& other) noexcept {
  if (this != &other) {
    release();
    fds_ = std::move(other.fds_);
    other.fds_.clear();
  }
  return *this;
}

HomeLock::~HomeLock() { release(); }

void HomeLock::release() {
  for (const int fd : fds_) ::close(fd);  // closing the last descriptor drops the flock
  fds_.clear();
}

}  // namespace parley::gateway
