// How every tool turns its command line into the conventions of the CLIs (docs: design §5):
// --help and --version print and exit 0; a usage error prints one line on stderr,
// `tool: what is wrong (see tool [subcommand] --help)`, and exits 2 (CLI11 alone would exit
// with its own codes, 106 and up). Shared by the cmd/*/main.cpp files; header-only, since each
// tool is one translation unit.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>
#include <string>

namespace mesh::cmd {

// Parses argv into `app`. nullopt when the tool should run; otherwise the exit code to return.
inline std::optional<int> ParseCommandLine(CLI::App& app, int argc, char** argv, int usage_exit_code = 2) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {  // --help, --version
      app.exit(e);
      return 0;
    }
    const std::string tool = app.get_name();
    const std::string subcommand =
        app.get_subcommands().empty() ? "" : app.get_subcommands()[0]->get_name() + " ";
    std::fprintf(stderr, "%s: %s (see %s %s--help)\n", tool.c_str(), e.what(), tool.c_str(),
                 subcommand.c_str());
    return usage_exit_code;
  }
}

}  // namespace mesh::cmd
