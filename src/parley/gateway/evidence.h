// GET /api/v1/messages/{id}/evidence (docs/openapi.yaml MessageEvidence): everything a third
// party needs to check, without trusting this gateway, that a message is what its sender
// signed and that the other party countersigned its place in the sender's transcript log:
// the signed envelope, its RFC 6962 inclusion proof, the countersignature (receipt v2, which
// embeds the log owner's signed tree head) over the head the proof is for, and the two
// parties' pinned Ed25519 keys. The console's "verify here" checks it in the browser;
// docs/transcript.md specifies the bytes.
#pragma once

#include "parley/core/model.h"
#include "parley/gateway/driver.h"
#include "parley/net/net.h"

namespace parley::gateway {

// The evidence of `m`, a message the caller may read. An error answer if the store cannot be
// read. The proof and countersignature are null while the message has none (not receipted
// yet; a message we refused as it arrived has the head it came with).
net::HttpResponse evidence_view(Driver& driver, const core::MessageRecord& m);

}  // namespace parley::gateway
