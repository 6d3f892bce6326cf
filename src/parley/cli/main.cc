// parley: the one binary. Subcommands per DESIGN.md "Command line"; exit codes: 0 success,
// 1 error, 2 usage error, 3 `verify` found the record invalid.
#include <iostream>
#include <string>

#include "parley/base/version.h"
#include "parley/cli/commands.h"
#include "parley/crypto/crypto.h"
#include "parley/wire/wire.h"

int main(int argc, char** argv) {
  CLI::App app{
      "parley: a crisis-communication line between commands that do not trust each other.\n"
      "Signed, sealed, precedence-ranked messages, receipted by the other side's gateway and\n"
      "acknowledged by a person."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "show the help of every subcommand");
  app.set_version_flag("--version",
                       "parley " + std::string(parley::version()) + " (commit " +
                           std::string(parley::build_commit()) + ", protocol " +
                           std::to_string(parley::wire::kProtocolVersion) + ")",
                       "Print the version, the commit it was built from and the protocol version");
  int exit_code = 0;
  parley::cli::add_admin_commands(app, exit_code);
  parley::cli::add_gateway_command(app, exit_code);
  parley::cli::add_client_commands(app, exit_code);
  parley::cli::add_meeting_command(app, exit_code);
  parley::cli::add_catalog_command(app, exit_code);
  parley::cli::add_demo_command(app, exit_code);
  parley::cli::add_transcript_command(app, exit_code);
  parley::cli::add_verify_command(app, exit_code);
  parley::cli::add_check_command(app, exit_code);
  parley::cli::add_backup_commands(app, exit_code);
  parley::cli::add_rotate_command(app, exit_code);

  const parley::Status crypto = parley::crypto::init();
  if (!crypto.is_ok()) return parley::cli::fail(crypto);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "parley: " << e.what() << " (see parley --help)\n";
    return 2;
  }
  return exit_code;
}
