#include "parley/gateway/home_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <sys/stat.h>

namespace parley::gateway::home_files {

namespace fs = std::filesystem;

std::string errno_text(int err) { return std::strerror(err); }

// Creates `path` (which must not exist) with `mode` from the start, writes `content` and
// fsyncs it: a secret is never readable by others, not even for an instant.
Status write_new_file(const fs::path& path, std::string_view content, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return Status::unavailable(
        fmt::format("cannot create {}: {}", path.string(), errno_text(errno)));
  }
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return Status::unavailable(
          fmt::format("cannot write {}: {}", path.string(), errno_text(err)));
    }
    done += static_cast<std::size_t>(n);
  }
  // The umask may have cleared bits of `mode` (fine: only ever fewer permissions).
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::unavailable(fmt::format("cannot fsync {}: {}", path.string(), errno_text(err)));
  }
  if (::close(fd) != 0) {
    return Status::unavailable(
        fmt::format("cannot close {}: {}", path.string(), errno_text(errno)));
  }
  return Status::ok();
}

Status make_dir(const fs::path& path) {
  if (::mkdir(path.c_str(), 0700) != 0) {
    return Status::unavailable(
        fmt::format("cannot create directory {}: {}", path.string(), errno_text(errno)));
  }
  return Status::ok();
}

// fsyncs a directory so that the entries created in it are durable.
Status sync_dir(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return Status::unavailable(fmt::format("cannot open {}: {}", path.string(), errno_text(errno)));
  }
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) {
    return Status::unavailable(fmt::format("cannot fsync {}: {}", path.string(), errno_text(err)));
  }
  return Status::ok();
}

// Reads a whole file. With `secret`, refuses a file that the group or others may access
// (like ssh does for private keys). A missing file is kNotFound; other failures kDataLoss.
Result<std::string> read_file(const fs::path& path, bool secret, std::size_t bytes_max) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return Status::not_found(fmt::format("{} is missing", path.string()));
    return Status::data_loss(fmt::format("cannot read {}: {}", path.string(), errno_text(err)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::data_loss(fmt::format("cannot stat {}: {}", path.string(), errno_text(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::data_loss(fmt::format("{} is not a regular file", path.string()));
  }
  if (secret && (st.st_mode & 077) != 0) {
    ::close(fd);
    return Status::failed_precondition(
        fmt::format("{} is readable by others (chmod 600)", path.string()));
  }
  if (static_cast<std::uint64_t>(st.st_size) > bytes_max) {
    ::close(fd);
    return Status::data_loss(fmt::format("{} is too large ({} bytes, at most {})", path.string(),
                                         st.st_size, bytes_max));
  }
  std::string out;
  std::array<char, 8192> buf{};
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return Status::data_loss(fmt::format("cannot read {}: {}", path.string(), errno_text(err)));
    }
    if (n == 0) break;
    out.append(buf.data(), static_cast<std::size_t>(n));
    if (out.size() > bytes_max) {
      ::close(fd);
      return Status::data_loss(fmt::format("{} is too large", path.string()));
    }
  }
  ::close(fd);
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
    s.remove_suffix(1);
  }
  while (!s.empty() && (s.front() == '\n' || s.front() == '\r' || s.front() == ' ')) {
    s.remove_prefix(1);
  }
  return s;
}

// Reads a base64 secret key file of exactly `size` bytes.
Result<Bytes> read_key_file(const fs::path& path, std::size_t size) {
  Result<std::string> text = read_file(path, /*secret=*/true, kSecretFileBytesMax);
  if (!text.is_ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return Status::data_loss(text.status().message());
    }
    return text.status();
  }
  Result<Bytes> bytes = base64_decode(trim(*text));
  if (!bytes.is_ok()) {
    return Status::data_loss(
        fmt::format("{}: not a base64 key: {}", path.string(), bytes.status().message()));
  }
  if (bytes->size() != size) {
    return Status::data_loss(
        fmt::format("{}: key is {} bytes, expected {}", path.string(), bytes->size(), size));
  }
  return std::move(bytes).value();
}

Result<std::string> read_home_file(const fs::path& path, bool secret) {
  Result<std::string> text = read_file(path, secret, kSecretFileBytesMax);
  if (!text.is_ok() && text.status().code() == StatusCode::kNotFound) {
    return Status::data_loss(text.status().message());
  }
  return text;
}

}  // namespace parley::gateway::home_files
