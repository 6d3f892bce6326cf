// The home's files (gateway/home.h): how they are written (new, fsynced, with their mode from
// the start) and read (bounded, a secret refused if others may read it). Shared by home.cc
// and home_rotation.cc; not part of the gateway's interface.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "parley/base/bytes.h"
#include "parley/base/status.h"

namespace parley::gateway {
struct Home;
}  // namespace parley::gateway

namespace parley::gateway::home_files {

inline constexpr std::size_t kSecretFileBytesMax = 64 * 1024;

std::string errno_text(int err);

// Creates `path` (which must not exist) with `mode` from the start, writes `content` and
// fsyncs it: a secret is never readable by others, not even for an instant.
Status write_new_file(const std::filesystem::path& path, std::string_view content, mode_t mode);

// mkdir `path`, mode 0700. kUnavailable if it cannot be made (also if it exists).
Status make_dir(const std::filesystem::path& path);

// fsyncs a directory so that the entries created in it are durable.
Status sync_dir(const std::filesystem::path& path);

// Reads a whole file. With `secret`, refuses a file that the group or others may access
// (like ssh does for private keys). A missing file is kNotFound; other failures kDataLoss.
Result<std::string> read_file(const std::filesystem::path& path, bool secret,
                              std::size_t bytes_max);

// `s` without leading and trailing newlines and spaces.
std::string_view trim(std::string_view s);

// Reads a base64 secret key file of exactly `size` bytes (kDataLoss naming the file if it is
// missing or not one).
Result<Bytes> read_key_file(const std::filesystem::path& path, std::size_t size);

// read_file of a file the home must have (at most kSecretFileBytesMax): missing is kDataLoss.
Result<std::string> read_home_file(const std::filesystem::path& path, bool secret);

}  // namespace parley::gateway::home_files

namespace parley::gateway {

// Loads our key rotations (home.h, "Our key rotations"; home_rotation.cc) into
// `home.rotations`, `home.keys` and `home.config` loaded already: kDataLoss naming the file if
// they do not hold together.
Status load_rotations(Home& home);

}  // namespace parley::gateway
