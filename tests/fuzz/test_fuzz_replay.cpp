// Replays the checked-in fuzz corpus — the seeds, and the input that exposed each finding —
// through the fuzz targets' own entry points, in the ordinary (g++) build. An entry point
// aborts when a property breaks; this prints each file first, so the culprit is named.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include "targets.hpp"

namespace {

#if defined(__SANITIZE_ADDRESS__)
#define MIXUP_REPLAY_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MIXUP_REPLAY_UNDER_ASAN 1
#endif
#endif

// libFuzzer fails an input that makes a reader allocate gigabytes; here, without its malloc
// limit, such an input would just be slow or exhaust the machine. So the address space is
// capped at what the process uses now plus 1 GiB, and such an allocation throws and fails the
// test. Not under ASan: its shadow memory reserves terabytes of address space.
void limit_memory() {
#ifndef MIXUP_REPLAY_UNDER_ASAN
  static const bool done = [] {
    long pages = 0;
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(f, "%ld", &pages) != 1) pages = 0;
      std::fclose(f);
    }
    if (pages > 0) {
      rlimit r{};
      getrlimit(RLIMIT_AS, &r);
      r.rlim_cur = static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE)) +
                   (rlim_t(1) << 30);
      setrlimit(RLIMIT_AS, &r);
    }
    return true;
  }();
  (void)done;
#endif
}

namespace fs = std::filesystem;
using Entry = void (*)(const std::uint8_t*, std::size_t);

int replay(const std::string& target, Entry entry) {
  limit_memory();
  const fs::path dir = fs::path(MIXUP_FUZZ_CORPUS) / target;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    std::fprintf(stderr, "replay %s: %s\n", target.c_str(), f.filename().c_str());
    std::ifstream in(f, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    entry(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
  return static_cast<int>(files.size());
}

TEST(FuzzReplay, Idx) { EXPECT_GT(replay("idx", mixup::fuzz::idx_input), 0); }
TEST(FuzzReplay, Checkpoint) { EXPECT_GT(replay("checkpoint", mixup::fuzz::checkpoint_input), 0); }
TEST(FuzzReplay, CurvesCsv) { EXPECT_GT(replay("curves_csv", mixup::fuzz::curves_csv_input), 0); }
TEST(FuzzReplay, Capi) { EXPECT_GT(replay("capi", mixup::fuzz::capi_input), 0); }

}  // namespace
