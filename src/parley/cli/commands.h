// The `parley` command line (DESIGN.md "Command line"): one function per group of
// subcommands, each adding them to the CLI11 app. A subcommand's callback sets
// `exit_code`: 0 success, 1 error (after printing one line "parley: <reason>" to stderr),
// 2 a value the user gave cannot be right (fail_usage; CLI11's own usage errors are in
// main.cc), 3 `verify` found the record invalid.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "parley/base/status.h"
#include "parley/ledger/verify.h"

namespace parley::cli {

// init, bundle, peer add, principal add, line add
void add_admin_commands(CLI::App& app, int& exit_code);
// send, inbox, outbox, ack, status (through the running gateway's API)
void add_client_commands(CLI::App& app, int& exit_code);
// meeting propose|counter|accept|decline|reschedule|cancel|minutes|sign|action|list|show
void add_meeting_command(CLI::App& app, int& exit_code);
// gateway (the daemon)
void add_gateway_command(CLI::App& app, int& exit_code);
// catalog
void add_catalog_command(CLI::App& app, int& exit_code);
// demo
void add_demo_command(CLI::App& app, int& exit_code);
// transcript export|show
void add_transcript_command(CLI::App& app, int& exit_code);
// transcript show, under `transcript` (transcript_show.cc)
void add_transcript_show_command(CLI::App* transcript, int& exit_code);
// verify (offline: an exported transcript)
void add_verify_command(CLI::App& app, int& exit_code);
// check (a home's self-test: gateway/check.h)
void add_check_command(CLI::App& app, int& exit_code);
// backup, restore (the SQLite store: backup_cmd.cc)
void add_backup_commands(CLI::App& app, int& exit_code);
// rotate (our key rotation: rotate_cmd.cc)
void add_rotate_command(CLI::App& app, int& exit_code);

// What `parley verify` runs, for parley-bench-transcript too (verify_cmd.cc).
struct ExportDirectory {
  ledger::ExportFiles files;         // every file that may belong to an export, read
  std::vector<std::string> refused;  // "<path>: <why>": symlinks, special files, > 4 GiB, ...
};
// Reads OUT_DIR (manifest.json, bundles/, logs/, heads/, proofs/; nothing is followed through
// a symlink). kNotFound/kInvalidArgument if it is missing, not a directory or has no
// manifest.json; kUnavailable if it cannot be listed. Files that are refused are listed.
Result<ExportDirectory> read_export_directory(const std::string& dir);
// Verifies it, with the independent checks spread over `threads` threads (0: every core).
ledger::TranscriptReport verify_export(const ExportDirectory& dir, unsigned threads);

// Prints "parley: <status message>" to stderr and returns 1.
int fail(const Status& status);
// The same, for a value the user gave that cannot be right (a usage error): returns 2.
int fail_usage(const Status& status);
// The same for the gateway's answer to a request: 2 if it refused a value the user gave
// (HTTP 400: a bad filter, an ambiguous id prefix), else 1.
int fail_request(const Status& status);

}  // namespace parley::cli
