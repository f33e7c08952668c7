// IDX files (the MNIST family's format), gzipped or not: magic checked, dimensions read,
// the payload size checked against them both ways (a truncated file and one with trailing
// bytes are both refused, with a message naming the file and what was wrong).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace mixup::nn {

struct IdxError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct IdxArray {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> data;  // unsigned-byte payload, row-major
  std::string path;                // the file it came from, for messages
  std::int64_t count() const { return dims.empty() ? 0 : dims[0]; }
  std::int64_t item_size() const;  // product of dims[1:]
};

// Reads an unsigned-byte IDX file (type code 0x08), .gz or plain; expect_dims > 0 refuses a
// header with another number of dimensions before reading them (a labels file has 1).
IdxArray read_idx(const std::string& path, int expect_dims = 0);

// A data set in the standard four-file layout: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz].
struct IdxDataset {
  IdxArray train_images, train_labels, test_images, test_labels;
};
IdxDataset load_idx_dataset(const std::string& dir);

// Fashion-MNIST's class names, for people to read.
extern const char* const kFashionMnistClasses[10];

}  // namespace mixup::nn
