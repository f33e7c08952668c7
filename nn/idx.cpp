#include "idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <memory>

namespace mixup::nn {

const char* const kFashionMnistClasses[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

std::int64_t IdxArray::item_size() const {
  std::int64_t n = 1;
  for (std::size_t i = 1; i < dims.size(); ++i) n *= dims[i];
  return n;
}

namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

// Reads exactly n bytes or reports how many were there.
std::size_t read_some(gzFile f, void* dst, std::size_t n, const std::string& path) {
  std::size_t got = 0;
  while (got < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 30));
    const int r = gzread(f, static_cast<char*>(dst) + got, chunk);
    if (r < 0) {
      int err = 0;
      throw IdxError(path + ": read error: " + gzerror(f, &err));
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

}  // namespace

IdxArray read_idx(const std::string& path, int expect_dims) {
  std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));  // reads plain files too
  if (!f) throw IdxError(path + ": cannot open");
  unsigned char magic[4];
  if (read_some(f.get(), magic, 4, path) != 4) throw IdxError(path + ": too short for an IDX header");
  if (magic[0] != 0 || magic[1] != 0)
    throw IdxError(path + ": not an IDX file (magic must start with two zero bytes)");
  if (magic[2] != 0x08)
    throw IdxError(path + ": IDX type code " + std::to_string(magic[2]) + " is not unsigned byte (0x08)");
  const int ndims = magic[3];
  if (ndims < 1 || ndims > 4)
    throw IdxError(path + ": IDX with " + std::to_string(ndims) + " dimensions is not supported");
  if (expect_dims > 0 && ndims != expect_dims)
    throw IdxError(path + ": the IDX header declares " + std::to_string(ndims) +
                   " dimensions, this file must have " + std::to_string(expect_dims) +
                   " (wrong magic for its name?)");
  IdxArray a;
  a.path = path;
  std::int64_t total = 1;
  for (int d = 0; d < ndims; ++d) {
    unsigned char be[4];
    if (read_some(f.get(), be, 4, path) != 4) throw IdxError(path + ": truncated in the dimension list");
    const std::int64_t v = (std::int64_t(be[0]) << 24) | (be[1] << 16) | (be[2] << 8) | be[3];
    if (v <= 0) throw IdxError(path + ": dimension " + std::to_string(d) + " is " + std::to_string(v));
    a.dims.push_back(v);
    // Checked before multiplying: 2^17 · 2^17 · (2^31 − 1) would overflow int64 first.
    if (total > (std::int64_t(1) << 34) / v) throw IdxError(path + ": declared size is implausibly large");
    total *= v;
  }
  // The buffer grows with the data actually read (in doubling chunks), so a header that
  // declares gigabytes in a file of a few bytes costs no more memory than the file does.
  const std::size_t want = static_cast<std::size_t>(total);
  std::size_t got = 0;
  while (got < want) {
    const std::size_t chunk = std::min(want - got, std::max<std::size_t>(got, 1u << 20));
    a.data.resize(got + chunk);
    const std::size_t r = read_some(f.get(), a.data.data() + got, chunk, path);
    got += r;
    if (r < chunk) break;
  }
  if (got != want)
    throw IdxError(path + ": truncated: header declares " + std::to_string(total) +
                   " bytes of data, file has " + std::to_string(got));
  unsigned char extra;
  if (read_some(f.get(), &extra, 1, path) != 0)
    throw IdxError(path + ": wrong size: more data than the header's " + std::to_string(total) + " bytes");
  return a;
}

IdxDataset load_idx_dataset(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw IdxError(dir + ": not a directory");
  const auto find = [&](const std::string& stem) {
    for (const char* ext : {".gz", ""}) {
      const fs::path p = fs::path(dir) / (stem + ext);
      if (fs::exists(p)) return p.string();
    }
    throw IdxError(dir + ": no " + stem + "[.gz]");
  };
  IdxDataset d{read_idx(find("train-images-idx3-ubyte"), 3), read_idx(find("train-labels-idx1-ubyte"), 1),
               read_idx(find("t10k-images-idx3-ubyte"), 3), read_idx(find("t10k-labels-idx1-ubyte"), 1)};
  const auto check_pair = [&](const IdxArray& img, const IdxArray& lab, const char* split) {
    if (img.dims.size() != 3) throw IdxError(dir + ": " + split + " images must have 3 dimensions");
    if (lab.dims.size() != 1) throw IdxError(dir + ": " + split + " labels must have 1 dimension");
    if (img.count() != lab.count())
      throw IdxError(dir + ": " + split + " has " + std::to_string(img.count()) + " images but " +
                     std::to_string(lab.count()) + " labels");
  };
  check_pair(d.train_images, d.train_labels, "train");
  check_pair(d.test_images, d.test_labels, "t10k");
  return d;
}

}  // namespace mixup::nn
