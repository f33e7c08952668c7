#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include <unistd.h>

#include "targets.hpp"

namespace mixup::fuzz {

void fuzz_fail(const char* target, const char* what) {
  std::fprintf(stderr, "fuzz target %s: %s\n", target, what);
  std::fflush(stderr);
  std::abort();
}

const char* scratch_file(const char* tag, const std::uint8_t* bytes, std::size_t size) {
  static std::map<std::string, std::string> paths;  // removed at exit
  struct Cleanup {
    ~Cleanup() {
      for (const auto& [tag, path] : paths) ::unlink(path.c_str());
    }
  };
  static Cleanup cleanup;
  std::string& path = paths[tag];
  if (path.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    const std::string dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : tmp != nullptr ? tmp : "/tmp";
    path = dir + "/mixup-fuzz-" + tag + "-" + std::to_string(::getpid());
  }
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || (size > 0 && std::fwrite(bytes, 1, size, f) != size) || std::fclose(f) != 0)
    fuzz_fail(tag, ("cannot write the scratch file " + path).c_str());
  return path.c_str();
}

}  // namespace mixup::fuzz
