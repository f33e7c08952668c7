// The four fuzz targets' entry points. Each takes one input, runs it through the reader or the
// C ABI, and calls fuzz_fail (which aborts) when a property is broken. Crashes and sanitizer
// reports need no help to be seen. The same functions serve libFuzzer (fuzz_main.cpp, clang)
// and the ordinary test suite, which replays the checked-in corpus (test_fuzz_replay.cpp, g++).
#pragma once

#include <cstddef>
#include <cstdint>

namespace mixup::fuzz {

void idx_input(const std::uint8_t* data, std::size_t size);         // nn::read_idx, raw or gzip
void checkpoint_input(const std::uint8_t* data, std::size_t size);  // nn::load_checkpoint
void curves_csv_input(const std::uint8_t* data, std::size_t size);  // viz::read_training_csv
void capi_input(const std::uint8_t* data, std::size_t size);        // the C ABI, CPU backend

// Prints what broke and aborts: libFuzzer saves the input, a replay test fails.
[[noreturn]] void fuzz_fail(const char* target, const char* what);

// A file the path-taking readers can open: rewritten with `bytes` on every call. One per
// process (and per target), in /dev/shm when it exists, so fuzzing does not wear the disk.
const char* scratch_file(const char* tag, const std::uint8_t* bytes, std::size_t size);

}  // namespace mixup::fuzz
