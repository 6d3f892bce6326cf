// columns: how the stores encode values in their columns (JSON arrays of strings and of
// hashes, directions, 32-byte digests), shared by the SQLite and PostgreSQL stores so that
// both read and write the same text. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/bytes.h"
#include "parley/base/status.h"
#include "parley/core/model.h"
#include "parley/crypto/crypto.h"

namespace parley::store::columns {

Result<core::Direction> parse_direction(std::string_view text);
std::string encode_string_array(const std::vector<std::string>& items);
Result<std::vector<std::string>> parse_string_array(std::string_view text);
std::string encode_hashes(const std::vector<crypto::Digest>& hashes);
Result<std::vector<crypto::Digest>> parse_hashes(std::string_view text);
Result<crypto::Digest> to_digest(const Bytes& bytes);
// True if `v` fits a signed 64-bit column.
bool fits_int64(std::uint64_t v);

}  // namespace parley::store::columns
