#include "parley/ledger/witness.h"

#include <algorithm>
#include <charconv>
#include <utility>

namespace parley::ledger {

namespace {

constexpr std::string_view kOldPrefix = "old ";

// The next line of `text` without its '\n', removed from `text`; nullopt if no '\n' is left.
std::optional<std::string_view> take_line(std::string_view& text) {
  const auto end = text.find('\n');
  if (end == std::string_view::npos) return std::nullopt;
  const std::string_view line = text.substr(0, end);
  text.remove_prefix(end + 1);
  return line;
}

Result<std::uint64_t> parse_old_size(std::string_view line) {
  const auto bad = Status::invalid_argument("add-checkpoint: expected \"old <size>\" first");
  if (line.substr(0, kOldPrefix.size()) != kOldPrefix) return bad;
  const std::string_view digits = line.substr(kOldPrefix.size());
  if (digits.empty() || (digits.size() > 1 && digits.front() == '0') ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad;
  }
  std::uint64_t size = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size);
  if (ec != std::errc() || end != digits.data() + digits.size()) return bad;
  return size;
}

Result<Hash> parse_proof_line(std::string_view line) {
  auto bytes = base64_decode(line);
  Hash hash{};
  if (!bytes.is_ok() || bytes->size() != hash.size()) {
    return Status::invalid_argument("add-checkpoint: a proof line must be base64 of 32 bytes");
  }
  std::copy(bytes->begin(), bytes->end(), hash.begin());
  return hash;
}

WitnessAnswer refuse(int http_status, std::string message) {
  WitnessAnswer answer;
  answer.http_status = http_status;
  answer.body = std::move(message) + "\n";
  return answer;
}

// 409 with the witness's size, as tlog-witness fixes it.
WitnessAnswer conflict_size(std::uint64_t size) {
  WitnessAnswer answer;
  answer.http_status = 409;
  answer.content_type = std::string(kTlogSizeContentType);
  answer.body = std::to_string(size) + "\n";
  return answer;
}

// The consistency checks against the witness's view (absent: none yet). An answer if the
// request fails, nullopt if it may be cosigned.
std::optional<WitnessAnswer> check_against_view(const AddCheckpointRequest& request,
                                                const Checkpoint& checkpoint,
                                                const WitnessView* view) {
  const std::uint64_t witnessed = view != nullptr ? view->size : 0;
  if (request.old_size != witnessed) return conflict_size(witnessed);
  const auto split = [&](SplitView::Kind kind, int http_status, std::string message) {
    WitnessAnswer answer = refuse(http_status, std::move(message));
    answer.split_view = SplitView{kind, checkpoint.origin, view->checkpoint, request.checkpoint};
    return answer;
  };
  if (view != nullptr && checkpoint.size == view->size && checkpoint.root != view->root) {
    return split(SplitView::Kind::kSameSizeOtherRoot, 409,
                 "split view: another root at the witnessed size " + std::to_string(view->size));
  }
  if (request.old_size == 0) {
    // Every tree extends the empty one; there is nothing to prove (and no proof may be sent).
    if (!request.proof.empty()) return refuse(422, "a proof from size 0 must be empty");
    if (checkpoint.size == 0 && checkpoint.root != empty_root()) {
      return refuse(422, "the root of size 0 must be the empty root");
    }
    return std::nullopt;
  }
  const Status consistent = verify_consistency(request.old_size, checkpoint.size, view->root,
                                               checkpoint.root, request.proof);
  if (consistent.is_ok()) return std::nullopt;
  // A proof of the right shape that fails: the log signed a head it cannot show to extend
  // the witnessed one. (A proof of the wrong length is only a bad request.)
  if (consistent.code() == StatusCode::kUnauthenticated) {
    return split(SplitView::Kind::kNotAnExtension, 422,
                 "the consistency proof does not verify: " + consistent.message());
  }
  return refuse(422, "bad consistency proof: " + consistent.message());
}

// The index in `chain` of the newest key that signed `note` (verify_note's errors: a
// signature by a key of the chain that does not verify, or none by any).
Result<std::size_t> newest_signer(const SignedNote& note, const std::vector<NoteVerifier>& chain) {
  PARLEY_ASSIGN_OR_RETURN(const std::vector<bool> signed_by, verify_note(note, chain));
  for (std::size_t i = signed_by.size(); i-- > 0;) {
    if (signed_by[i]) return i;
  }
  return Status::unauthenticated("no signature by a known key");  // verify_note said one did
}

// The oldest key of `chain` the witness accepts after `view`: the one that signed the note it
// witnessed (WitnessedKeys).
std::size_t oldest_allowed(const WitnessView* view, const std::vector<NoteVerifier>& chain) {
  if (view == nullptr) return 0;
  const Result<SignedNote> note = parse_note(view->checkpoint);
  if (!note.is_ok()) return 0;
  const Result<std::size_t> signer = newest_signer(*note, chain);
  return signer.is_ok() ? *signer : 0;
}

}  // namespace

std::string encode_add_checkpoint(const AddCheckpointRequest& request) {
  std::string out = std::string(kOldPrefix) + std::to_string(request.old_size) + "\n";
  for (const Hash& hash : request.proof) out += base64_encode(hash) + "\n";
  return out + "\n" + request.checkpoint;
}

Result<AddCheckpointRequest> parse_add_checkpoint(std::string_view body) {
  if (body.size() > kNoteBytesMax + 2 * 1024) {
    return Status::invalid_argument("add-checkpoint: request too large");
  }
  AddCheckpointRequest out;
  const auto first = take_line(body);
  if (!first) return Status::invalid_argument("add-checkpoint: no old size line");
  PARLEY_ASSIGN_OR_RETURN(out.old_size, parse_old_size(*first));
  while (true) {
    const auto line = take_line(body);
    if (!line) return Status::invalid_argument("add-checkpoint: no empty line before the note");
    if (line->empty()) break;
    if (out.proof.size() == kWitnessProofLinesMax) {
      return Status::invalid_argument("add-checkpoint: more than 63 proof lines");
    }
    PARLEY_ASSIGN_OR_RETURN(const Hash hash, parse_proof_line(*line));
    out.proof.push_back(hash);
  }
  if (body.empty()) return Status::invalid_argument("add-checkpoint: no checkpoint");
  out.checkpoint = std::string(body);
  return out;
}

std::string_view split_view_kind_name(SplitView::Kind kind) {
  switch (kind) {
    case SplitView::Kind::kSameSizeOtherRoot:
      return "same-size-other-root";
    case SplitView::Kind::kNotAnExtension:
      return "not-an-extension";
  }
  return "unknown";
}

WitnessAnswer add_checkpoint(std::string_view body, const WitnessedKeys& logs,
                             const std::map<std::string, WitnessView, std::less<>>& views,
                             const WitnessIdentity& witness, std::uint64_t now) {
  auto request = parse_add_checkpoint(body);
  if (!request.is_ok()) return refuse(400, request.status().message());
  auto note = parse_note(request->checkpoint);
  if (!note.is_ok()) return refuse(400, note.status().message());
  auto checkpoint = parse_checkpoint_text(note->text);
  if (!checkpoint.is_ok()) return refuse(400, checkpoint.status().message());

  const auto log = logs.find(checkpoint->origin);
  if (log == logs.end() || log->second.empty()) {
    return refuse(404, "unknown origin " + checkpoint->origin);
  }
  const std::vector<NoteVerifier>& chain = log->second;
  const Result<std::size_t> signer = newest_signer(*note, chain);
  if (!signer.is_ok()) return refuse(403, signer.status().message());
  const auto found = views.find(checkpoint->origin);
  const WitnessView* view = found != views.end() ? &found->second : nullptr;
  if (const std::size_t oldest = oldest_allowed(view, chain); *signer < oldest) {
    return refuse(403, "signed by key " + std::to_string(*signer + 1) + " of the " +
                           std::to_string(chain.size()) + " of " + checkpoint->origin +
                           ", older than key " + std::to_string(oldest + 1) +
                           ", which signed the checkpoint witnessed at size " +
                           std::to_string(view->size));
  }
  if (request->old_size > checkpoint->size) {
    return refuse(400, "old size " + std::to_string(request->old_size) +
                           " is larger than the checkpoint's " + std::to_string(checkpoint->size));
  }
  if (auto failed = check_against_view(*request, *checkpoint, view)) {
    failed->origin = checkpoint->origin;
    return *std::move(failed);
  }

  WitnessAnswer answer;
  answer.origin = checkpoint->origin;
  answer.body = encode_signature_line(cosign(note->text, now, witness.key, witness.name));
  answer.new_view = WitnessView{checkpoint->size, checkpoint->root, request->checkpoint};
  return answer;
}

}  // namespace parley::ledger
