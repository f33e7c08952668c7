#include "cli.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "mixup/mixup.h"

namespace mixup::tools {

const char* const kExitStatusHelp =
    "Exit status: 0 done (also after --help, --version); 1 a runtime failure (input files, data, an\n"
    "output folder, memory, a diverged training, a full disk), checked before any work where it can\n"
    "be; 2 a usage error, the bad flag named: a value of the wrong form or range, flags that conflict,\n"
    "an output path that is empty, a directory or not a regular file.\n";

namespace {
// The CPU instruction-set level the library (and the trainer's layers) run at, for --version:
// results do not depend on it, but a run can be reproduced under it (MIXUP_CPU_ISA).
std::string cpu_level() {
  const char* name = nullptr;
  if (mixup_cpu_isa(&name) != MIXUP_STATUS_SUCCESS) return std::string("refused: ") + mixup_last_error();
  return name;
}
}  // namespace

std::string cpu_description() {
  std::string model = "unknown CPU model";
  std::ifstream info("/proc/cpuinfo");
  for (std::string line; std::getline(info, line);)
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      model = line.substr(line.find(':') + 1);
      model.erase(0, model.find_first_not_of(" \t"));
      break;
    }
  return "CPU level " + cpu_level() + ", " + model;
}

void common_setup(CLI::App& app, const std::string& footer) {
  app.set_version_flag("--version", [name = app.get_name()] {
    return name + " " MIXUP_TOOLS_VERSION " (library " + mixup_version() + ", CPU level " + cpu_level() + ")";
  });
  app.footer(footer.empty() ? kExitStatusHelp : footer + "\n" + kExitStatusHelp);
}

namespace {
// CLI11's messages, where they are not in words a person uses.
std::string words(const CLI::ParseError& e) {
  const std::string m = e.what(), at_most = ": At Most 1 required but received ";
  const std::size_t at = m.find(at_most);
  if (at != std::string::npos)  // an option that takes one value, given several times
    return m.substr(0, at) + " was given " + m.substr(at + at_most.size()) + " times; give it once";
  return m;
}
}  // namespace

int parse(CLI::App& app, int argc, char** argv, const std::function<void()>& after) {
  try {
    app.parse(argc, argv);
    const char* level = nullptr;  // a bad MIXUP_CPU_ISA is a usage error, named before any work
    if (mixup_cpu_isa(&level) != MIXUP_STATUS_SUCCESS) {
      std::fprintf(stderr, "%s: %s\n", app.get_name().c_str(), mixup_last_error());
      return kExitUsage;
    }
    if (after) after();
    return -1;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);  // prints the help of the subcommand it was given to
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    std::printf("%s\n", e.what());
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: %s\nRun '%s --help' for the options.\n", app.get_name().c_str(),
                 words(e).c_str(), app.get_name().c_str());
    return kExitUsage;
  }
}

CLI::Validator integer_in(std::int64_t lo, std::int64_t hi) {
  const std::string range = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  return CLI::Validator(
      [lo, hi, range](std::string& s) -> std::string {
        errno = 0;
        char* end = nullptr;
        const long long v = std::strtoll(s.c_str(), &end, 10);
        if (s.empty() || *end != '\0' || errno == ERANGE || (lo >= 0 && s[0] == '-'))
          return "'" + s + "' is not " + (lo >= 0 ? "a whole number >= 0" : "a whole number");
        if (v < lo || v > hi) return s + " is not in " + range;
        return "";
      },
      "INT in " + range);
}

CLI::Validator unsigned_integer() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        // strtoull would turn "-1" into 2^64 - 1: only plain digits are accepted
        if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos)
          return "'" + s + "' is not a whole number >= 0";
        errno = 0;
        std::strtoull(s.c_str(), nullptr, 10);
        return errno == ERANGE ? s + " is larger than 2^64 - 1" : "";
      },
      "UINT64");
}

namespace {
// The range is checked on the value the program will use, a float: 1e39 is infinite there and
// 1e-50 is 0, whatever the double parsed from the text says.
CLI::Validator finite_float(bool allow_zero) {
  return CLI::Validator(
      [allow_zero](std::string& s) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (s.empty() || *end != '\0') return "'" + s + "' is not a number";
        const std::string want = allow_zero ? " is not a finite number >= 0" : " is not a finite number > 0";
        if (!std::isfinite(v) || v < 0 || (!allow_zero && v == 0)) return s + want;
        const float f = static_cast<float>(v);
        if (!std::isfinite(f)) return s + " is too large (a float holds at most 3.4e38)";
        if (f == 0.0f && v != 0.0)
          return s + " is 0 as a float (the smallest above 0 is 1.4e-45)" +
                 (allow_zero ? "; write 0 if 0 is meant" : "");
        return "";
      },
      allow_zero ? "X >= 0" : "X > 0");
}
}  // namespace

const CLI::Validator kPositiveFinite = finite_float(false);
const CLI::Validator kNonNegativeFinite = finite_float(true);
const CLI::Validator kPngName(
    [](std::string& s) -> std::string {
      const std::string ext = ".png";
      if (s.empty()) return "an empty file name; give a file name";
      if (s.size() <= ext.size() || s.compare(s.size() - ext.size(), ext.size(), ext) != 0)
        return "'" + s + "' does not end in .png (the picture is always a PNG)";
      return "";
    },
    "FILE.png");

CLI::Validator on_off() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        if (s == "on") return s = "1", "";
        if (s == "off") return s = "0", "";
        return "'" + s + "' is not on or off";
      },
      "on|off");
}

void check_output_form(const std::string& path, const std::string& flag) {
  namespace fs = std::filesystem;
  if (path.empty()) throw CLI::ValidationError(flag, "an empty file name; give a file name");
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (st.type() == fs::file_type::directory)
    throw CLI::ValidationError(flag, path + " is a directory; give a file name");
  if (fs::exists(st) && st.type() != fs::file_type::regular)
    throw CLI::ValidationError(flag,
                               path + " is not a regular file (a device, pipe or socket); give a file name");
}

void check_not_empty(const std::string& path, const std::string& flag) {
  if (path.empty()) throw CLI::ValidationError(flag, "an empty file name");
}

std::string errno_text(int err) { return std::strerror(err); }

void check_output_file(const std::string& path, const std::string& flag) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_directory(p, ec)) throw Failure(flag + " " + path + ": is a directory; give a file name");
  const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  if (!fs::is_directory(dir, ec))
    throw Failure(flag + " " + path + ": folder " + dir.string() + " does not exist");
  if (::access(dir.c_str(), W_OK) != 0)
    throw Failure(flag + " " + path + ": folder " + dir.string() + " is not writable");
  if (fs::exists(p, ec) && ::access(path.c_str(), W_OK) != 0)
    throw Failure(flag + " " + path + ": file is not writable");
}

}  // namespace mixup::tools
