// transcript: parley's joint transcript (DESIGN.md "Transcript (ledger)"; docs/transcript.md
// is the byte-level specification), for callers that use all of it. Each part has its header:
//   formats.h  the signed documents: tree heads, receipts v2 (countersignatures), manifests;
//   export.h   the files of an export: their names and their lines, written and read;
//   verify.h   the offline verifier, what `parley verify` runs.
// The log itself (leaves, roots, proofs) is merkle.h; the DSSE wrapper of every signed
// document is wire/dsse.h.
#pragma once

#include "parley/ledger/export.h"   // IWYU pragma: export
#include "parley/ledger/formats.h"  // IWYU pragma: export
#include "parley/ledger/verify.h"   // IWYU pragma: export
