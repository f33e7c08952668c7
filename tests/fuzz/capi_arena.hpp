// The memory a fuzzed C ABI call sees: one exactly-sized heap block (so ASan flags any access
// past it) cut into a slot per argument, each sized by the API's contract for the fuzzed
// shapes. A pointer argument is NULL, its own slot, or a fuzzer-chosen element-aligned offset
// anywhere in the block (overlaps included). A snapshot taken before the call is what "a
// failed call writes nothing" is checked against, byte for byte.
#pragma once

#include <cstring>
#include <memory>
#include <vector>

#include "fuzz_bytes.hpp"

namespace mixup::fuzz {

class CapiArena {
 public:
  // Declares a slot of `bytes`; returns its id. All slots are declared before allocate().
  int reserve(std::size_t bytes) {
    offsets_.push_back(size_);
    needs_.push_back(bytes);
    size_ += (bytes + 15) / 16 * 16;
    return static_cast<int>(needs_.size()) - 1;
  }
  void allocate(std::size_t extra) {
    size_ += extra;
    mem_.reset(new std::uint8_t[size_ > 0 ? size_ : 1]);
    std::memset(mem_.get(), 0xA5, size_);  // a sentinel where nothing else is written
  }
  std::uint8_t* slot(int id) const { return mem_.get() + offsets_[id]; }
  std::size_t need(int id) const { return needs_[id]; }
  // NULL (1 in 8), anywhere (1 in 8), else the slot's own place.
  void* place(FuzzBytes& in, int id, std::size_t align) {
    const unsigned mode = in.u8() % 8;
    if (mode == 0) return nullptr;
    if (mode == 1) {
      const std::size_t room = size_ - needs_[id] + 1;
      return mem_.get() + (in.take<std::uint32_t>() % room) / align * align;
    }
    return slot(id);
  }
  void snapshot() { before_.assign(mem_.get(), mem_.get() + size_); }
  bool unchanged() const { return size_ == 0 || std::memcmp(before_.data(), mem_.get(), size_) == 0; }
  // What a pointer pointed at before the call (inputs are judged by what the call was given).
  template <class T>
  T before(const void* p, std::size_t i) const {
    T v;
    std::memcpy(&v, before_.data() + (static_cast<const std::uint8_t*>(p) - mem_.get()) + i * sizeof(T),
                sizeof v);
    return v;
  }

 private:
  std::vector<std::size_t> offsets_, needs_;
  std::size_t size_ = 0;
  std::unique_ptr<std::uint8_t[]> mem_;
  std::vector<std::uint8_t> before_;
};

}  // namespace mixup::fuzz
