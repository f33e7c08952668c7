// What the three tools share on the command line: one exit-status contract, CLI11 parsing
// mapped onto it (a usage error names the one bad flag and exits 2), the value checks used
// where each option is declared, and the check every output path gets before work starts.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

namespace mixup::tools {

// Exit statuses, the same in all three tools.
constexpr int kExitOk = 0, kExitFailure = 1, kExitUsage = 2;
extern const char* const kExitStatusHelp;  // the contract in words, for each --help footer

// A runtime failure found by a tool (bad data, an unusable path, not enough memory): exit 1.
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// --version (the project's version) and the exit-status footer.
void common_setup(CLI::App& app, const std::string& footer = "");

// "CPU level avx512, AMD EPYC 9R14": the instruction-set level the CPU code runs at and the
// CPU's model name, so a log says where it can be reproduced (MIXUP_CPU_ISA).
std::string cpu_description();

// Parses argv, then runs `after` (checks between options that a single option's validator
// cannot make; it throws CLI::ValidationError). Returns -1 to go on, or the status to exit
// with: 0 after --help / --version, 2 after a usage error (printed as "tool: message").
int parse(CLI::App& app, int argc, char** argv, const std::function<void()>& after = nullptr);

// Value checks: an integer (decimal, no sign unless lo < 0) in [lo, hi]; a number > 0 or >= 0
// checked as the float it is stored in (finite there, and not a non-zero value that rounds to
// 0); "on" or "off" into a bool; a file name ending in .png.
CLI::Validator integer_in(std::int64_t lo, std::int64_t hi);
CLI::Validator unsigned_integer();
extern const CLI::Validator kPositiveFinite, kNonNegativeFinite, kPngName;
CLI::Validator on_off();  // use with ->transform(): it rewrites the value

// The form of a path the tool will write, checked with the flags (throws CLI::ValidationError,
// so exit 2): not empty, not a directory, and nothing there but a regular file — a device
// node or a pipe would be written to, or replaced (a temporary file is renamed over it).
void check_output_form(const std::string& path, const std::string& flag);
// An input path that was given: not empty (CLI11 takes "" as a value).
void check_not_empty(const std::string& path, const std::string& flag);

// What errno says, for a message: "No space left on device".
std::string errno_text(int err);

// A file the tool will write: throws Failure (naming the flag and path) if it is a
// directory, or its folder does not exist or cannot be written. Creates nothing.
void check_output_file(const std::string& path, const std::string& flag);

}  // namespace mixup::tools
