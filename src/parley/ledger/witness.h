// witness: the decision of a C2SP tlog-witness on one add-checkpoint request, as a pure
// function, so that an observer's gateway (or a test) can witness parley logs without any
// I/O here. The caller reads the witness's last view of the origin, calls add_checkpoint,
// and persists the returned view atomically with that read (compare-and-set on the old
// size: tlog-witness "add-checkpoint" explains the rollback race otherwise) before it sends
// the answer.
//
// Request body (tlog-witness): "old <size>\n", 0..63 lines of base64 consistency-proof
// hashes (RFC 6962 §2.1.2), an empty line, then the signed checkpoint. Answers:
//   200  cosignature lines ("— <witness> base64(id || time || sig)\n")
//   400  malformed request, or old size > checkpoint size
//   403  no signature by a key of the origin's pinned chain that is not older than the key
//        of the checkpoint witnessed before (see WitnessedKeys)
//   404  unknown origin
//   409  old size is not the witness's size (body "<size>\n", text/x.tlog.size), or the same
//        size with another root (a split view)
//   422  the consistency proof does not verify
// A split view (two validly signed roots at one size, or a signed head whose proof from the
// witness's view fails) is reported with both signed notes as evidence. The first is proof
// by itself; the second is only as strong as the request's origin: tlog-witness requests are
// not authenticated, so anyone holding a signed head can send it with a bad proof, and a
// caller that accepts requests from anyone treats it as a suspicion to look into.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/status.h"
#include "parley/crypto/crypto.h"
#include "parley/ledger/checkpoint.h"
#include "parley/ledger/merkle.h"

namespace parley::ledger {

inline constexpr std::size_t kWitnessProofLinesMax = 63;
inline constexpr std::string_view kTlogSizeContentType = "text/x.tlog.size";

struct AddCheckpointRequest {
  std::uint64_t old_size = 0;
  std::vector<Hash> proof;
  std::string checkpoint;  // the signed note, as sent
};
std::string encode_add_checkpoint(const AddCheckpointRequest& request);
// Structure only: the old-size line (decimal, no leading zeros), at most
// kWitnessProofLinesMax base64 hashes, an empty line, and the rest (the checkpoint, parsed
// later). kInvalidArgument.
Result<AddCheckpointRequest> parse_add_checkpoint(std::string_view body);

// The latest checkpoint the witness cosigned for one origin.
struct WitnessView {
  std::uint64_t size = 0;
  Hash root{};
  std::string checkpoint;  // its signed note, kept as evidence
  bool operator==(const WitnessView&) const = default;
};

// Two signed heads of one origin that cannot both be true.
struct SplitView {
  enum class Kind {
    kSameSizeOtherRoot,  // two roots at one size
    kNotAnExtension,     // the proof that the new head extends the witnessed one fails
  };
  Kind kind = Kind::kSameSizeOtherRoot;
  std::string origin;
  std::string witnessed;  // the signed note the witness holds
  std::string offered;    // the signed note that contradicts it
};
std::string_view split_view_kind_name(SplitView::Kind kind);

// The witness's own identity: its name and cosigning key (type 0x04).
struct WitnessIdentity {
  std::string name;
  crypto::SigningKey key;
};

struct WitnessAnswer {
  int http_status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::optional<WitnessView> new_view;  // 200 only: persist before answering
  std::string origin;                   // the checkpoint's origin, once parsed
  std::optional<SplitView> split_view;  // evidence to keep and alert on
};

// The keys each known origin's checkpoints may be signed with: the chain of keys of the log's
// owner (key_chain.h) as the witness pins it, oldest first (at least one), each a type 0x01
// note key named by the origin. A head of the owner's log is signed by the key of its last
// entry, and the owner's rotation stands at an index of that log the witness does not know
// (its chain comes from the owner's log for the witness): so the witness accepts any key of
// the chain, but keys only move forward per origin. The key of the checkpoint it witnessed
// last (the newest key of the chain that signed the view's note; the first key if none did,
// or with no view) is the oldest it accepts: once a checkpoint signed by key n is witnessed,
// one signed by an older key is refused (403), so a retired key cannot sign on forever, while
// the owner's first checkpoint after a rotation (the head that first holds the statement,
// still the old key's) is cosigned.
using WitnessedKeys = std::map<std::string, std::vector<NoteVerifier>, std::less<>>;

// Decides one request. `logs` maps each known origin to its keys (WitnessedKeys); `views` maps
// origins to the witness's last view (absent: none yet, size 0). `now` is the cosignature time
// in POSIX seconds. Never fails: every outcome is an answer.
WitnessAnswer add_checkpoint(std::string_view body, const WitnessedKeys& logs,
                             const std::map<std::string, WitnessView, std::less<>>& views,
                             const WitnessIdentity& witness, std::uint64_t now);

}  // namespace parley::ledger
