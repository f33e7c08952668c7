// nn::read_idx on fuzzer bytes. The first byte chooses how the rest reaches the reader: as the
// file itself (raw IDX, or a gzip stream the fuzzer corrupts), or gzip-compressed here first,
// so that the IDX structure behind a valid gzip stream is explored too.
#include <string>
#include <vector>

#include <zlib.h>

#include "idx.hpp"
#include "targets.hpp"

namespace mixup::fuzz {
namespace {

std::vector<std::uint8_t> gzip(const std::uint8_t* data, std::size_t size) {
  z_stream z{};
  if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    fuzz_fail("idx", "deflateInit2 failed");
  std::vector<std::uint8_t> out(deflateBound(&z, size));
  z.next_in = const_cast<std::uint8_t*>(data);
  z.avail_in = static_cast<uInt>(size);
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) fuzz_fail("idx", "deflate did not finish");
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace

void idx_input(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  const bool compress_here = (data[0] & 1) != 0;
  ++data, --size;
  std::vector<std::uint8_t> gz;
  if (compress_here) gz = gzip(data, size);
  const char* path = compress_here ? scratch_file("idx", gz.data(), gz.size())
                                   : scratch_file("idx", data, size);
  try {
    const nn::IdxArray a = nn::read_idx(path);
    // What a caller relies on after a successful read.
    if (a.dims.empty() || a.dims.size() > 4) fuzz_fail("idx", "accepted a dimension count outside [1, 4]");
    std::int64_t total = 1;
    for (std::int64_t d : a.dims) {
      if (d <= 0) fuzz_fail("idx", "accepted a dimension <= 0");
      total *= d;
    }
    if (static_cast<std::size_t>(total) != a.data.size() || a.count() * a.item_size() != total)
      fuzz_fail("idx", "payload size differs from the product of the dimensions");
  } catch (const nn::IdxError& e) {
    if (std::string(e.what()).find(path) != 0)
      fuzz_fail("idx", "error message does not start with the file's path");
  }
}

}  // namespace mixup::fuzz
