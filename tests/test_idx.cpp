// The IDX reader on real files (Debian's Fashion-MNIST when installed) and on small files the
// test writes: right counts and bytes, plain and gzipped; truncated, wrong-magic, wrong-type
// and wrong-size files refused with a message.
#include <gtest/gtest.h>

#include "data_dir.hpp"

#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "idx.hpp"

namespace {

namespace fs = std::filesystem;
using mixup::nn::IdxError;
using mixup::nn::read_idx;

std::vector<std::uint8_t> idx_bytes(std::vector<std::uint32_t> dims, std::size_t payload,
                                    std::uint8_t type = 0x08) {
  std::vector<std::uint8_t> b = {0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (std::uint32_t d : dims)
    b.insert(b.end(), {std::uint8_t(d >> 24), std::uint8_t(d >> 16), std::uint8_t(d >> 8), std::uint8_t(d)});
  for (std::size_t i = 0; i < payload; ++i) b.push_back(static_cast<std::uint8_t>(i * 7));
  return b;
}

class IdxFiles : public ::testing::Test {
 protected:
  fs::path dir = fs::temp_directory_path() / ("idx_test_" + std::to_string(::getpid()));
  void SetUp() override { fs::create_directories(dir); }
  void TearDown() override { fs::remove_all(dir); }
  std::string write(const std::string& name, const std::vector<std::uint8_t>& b, bool gz = false) {
    const std::string p = (dir / name).string();
    if (gz) {
      gzFile f = gzopen(p.c_str(), "wb");
      gzwrite(f, b.data(), static_cast<unsigned>(b.size()));
      gzclose(f);
    } else {
      std::ofstream(p, std::ios::binary)
          .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    }
    return p;
  }
  void expect_refused(const std::string& path, const std::string& words) {
    try {
      read_idx(path);
      ADD_FAILURE() << path << " was accepted";
    } catch (const IdxError& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  }
};

TEST_F(IdxFiles, ReadsPlainAndGzipped) {
  const auto b = idx_bytes({3, 2, 4}, 24);
  for (const bool gz : {false, true}) {
    const auto a = read_idx(write(gz ? "ok.gz" : "ok", b, gz));
    EXPECT_EQ(a.dims, (std::vector<std::int64_t>{3, 2, 4}));
    EXPECT_EQ(a.count(), 3);
    EXPECT_EQ(a.item_size(), 8);
    ASSERT_EQ(a.data.size(), 24u);
    for (std::size_t i = 0; i < 24; ++i) ASSERT_EQ(a.data[i], static_cast<std::uint8_t>(i * 7));
  }
}

TEST_F(IdxFiles, RefusesBadFiles) {
  expect_refused(write("short", idx_bytes({3, 2, 4}, 20)), "truncated");
  expect_refused(write("short.gz", idx_bytes({3, 2, 4}, 20), true), "truncated");
  expect_refused(write("long", idx_bytes({3, 2, 4}, 25)), "wrong size");
  auto bad_magic = idx_bytes({3}, 3);
  bad_magic[0] = 1;
  expect_refused(write("magic", bad_magic), "magic");
  expect_refused(write("type", idx_bytes({3}, 12, 0x0D)), "type code");
  expect_refused(write("hdr", {0, 0, 8}), "too short");
  expect_refused(write("dims", {0, 0, 8, 2, 0, 0}), "dimension list");
  expect_refused((dir / "missing").string(), "cannot open");
}

TEST(IdxFashionMnist, DebianPackageHasTheRightCounts) {
  const std::string dir = fashion_mnist_dir();
  if (!fs::exists(dir))
    GTEST_SKIP() << dir << " is not installed (scripts/setup installs dataset-fashion-mnist)";
  const auto d = mixup::nn::load_idx_dataset(dir);
  EXPECT_EQ(d.train_images.dims, (std::vector<std::int64_t>{60000, 28, 28}));
  EXPECT_EQ(d.test_images.dims, (std::vector<std::int64_t>{10000, 28, 28}));
  EXPECT_EQ(d.train_labels.count(), 60000);
  EXPECT_EQ(d.test_labels.count(), 10000);
  std::vector<int> per_class(10, 0);
  for (std::uint8_t y : d.train_labels.data) {
    ASSERT_LT(y, 10);
    ++per_class[y];
  }
  for (int c = 0; c < 10; ++c) EXPECT_EQ(per_class[c], 6000) << "class " << c;  // Fashion-MNIST is balanced
}

}  // namespace
