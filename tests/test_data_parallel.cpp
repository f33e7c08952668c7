// Data-parallel training in one process (nn/parallel): the rank-order sum; --virtual-ranks
// mixes each rank's micro-batch with its own salt (ranks draw different λ, and rank r's draws
// are a single handle's with salt r); micro-batches without mixup match one big batch to
// rounding; --mixup-off-epoch leaves the late epochs unmixed. The MPI side (mpiexec -n 2 gives
// the same bits as --virtual-ranks 2) is tests/tools/mpi_cases.sh.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <vector>

#include "data_dir.hpp"
#include "idx.hpp"
#include "learner.hpp"
#include "mixup_callback.hpp"
#include "parallel/comm.hpp"

namespace {

using namespace mixup::nn;

TEST(SumInRankOrder, AddsPartsLeftToRight) {
  // 1e8 + 1 − 1e8 in float: 0 left to right, 1 in any order that adds the small part last
  const std::vector<float> parts = {1e8f, 2.0f, 1.0f, 3.0f, -1e8f, 4.0f};
  std::vector<float> out(2);
  sum_in_rank_order(parts.data(), 3, 2, out.data());
  EXPECT_EQ(out[0], (1e8f + 1.0f) + -1e8f);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], 9.0f);
}

class DataParallelTest : public ::testing::Test {
 protected:
  static IdxDataset* data;
  static void SetUpTestSuite() {
    if (std::filesystem::exists(fashion_mnist_dir()))
      data = new IdxDataset(load_idx_dataset(fashion_mnist_dir()));
  }
  static void TearDownTestSuite() { delete data, data = nullptr; }
  void SetUp() override {
    if (data == nullptr)
      GTEST_SKIP() << fashion_mnist_dir() << " is not installed (scripts/setup installs it)";
  }
  ImageSet train(std::int64_t n) const { return ImageSet::of(data->train_images, data->train_labels, n); }
  ImageSet valid(std::int64_t n) const { return ImageSet::of(data->test_images, data->test_labels, n); }
  static LearnerConfig config(std::int64_t bs) {
    LearnerConfig c;
    c.progress = false;
    c.threads = 1;
    c.batch_size = bs;
    c.drop_last = true;
    return c;
  }
};
IdxDataset* DataParallelTest::data = nullptr;

// Each training micro-batch as the loss saw it: its rank, its uint8 images and labels, its λ.
struct Recorder : Callback {
  struct Seen {
    std::int32_t rank;
    std::vector<std::uint8_t> images;
    std::vector<std::int32_t> labels, y_b;
    std::vector<float> lam;
  };
  std::vector<Seen> seen;
  std::vector<bool> mixed;
  void on_loss_begin(Learner&, BatchState& b) override {
    if (!b.train) return;
    mixed.push_back(b.mixed);
    if (b.mixed) seen.push_back({b.rank, b.images, b.labels, b.y_b, b.lam});
  }
};

TEST_F(DataParallelTest, VirtualRanksDrawTheirOwnLambdaAsASaltedHandleWould) {
  SimpleCnn model({1, 4, 10}, {3, 3}, {2, 2}, true, 1);
  LearnerConfig cfg = config(8);
  cfg.parallel.virtual_ranks = 3;
  Learner learn(model, train(48), valid(16), cfg);
  MixUpCallback mix(0.4f, 7);
  Recorder rec;
  learn.add_callback(&mix);
  learn.add_callback(&rec);
  learn.fit(1);
  ASSERT_EQ(rec.seen.size(), 6u) << "48 images / (3 ranks x 8) = 2 steps of 3 micro-batches";
  // The same draws from one handle per salt, stepped once per batch it mixed, on the same images.
  std::map<int, std::unique_ptr<mixup::Mixup>> handles;
  for (std::size_t i = 0; i < rec.seen.size(); ++i) {
    Recorder::Seen& s = rec.seen[i];
    EXPECT_EQ(s.rank, static_cast<std::int32_t>(i % 3)) << "ranks take turns within a step";
    auto& h = handles[s.rank];
    if (!h) {
      mixup_config_t c = mixup_config_default();
      c.backend = MIXUP_BACKEND_CPU, c.alpha = 0.4f, c.seed = 7, c.num_classes = 10, c.max_batch = 8;
      c.rank_salt = static_cast<std::uint32_t>(s.rank);
      h = std::make_unique<mixup::Mixup>(c);
      h->set_normalize(&cfg.mean, &cfg.std, 1);
    }
    std::vector<float> x(s.images.size()), lam(8);
    std::vector<std::int32_t> ya(8), yb(8);
    h->apply(mixup::TensorView::images(s.images.data(), mixup::DType::u8, 8, 1, 28, 28),
             mixup::TensorView::images(x.data(), mixup::DType::f32, 8, 1, 28, 28),
             mixup::StackedTargets{s.labels.data(), ya.data(), yb.data(), lam.data()}, nullptr);
    EXPECT_EQ(lam, s.lam) << "micro-batch " << i << " (rank " << s.rank << ")";
    EXPECT_EQ(yb, s.y_b) << "micro-batch " << i;
  }
  EXPECT_NE(rec.seen[0].lam, rec.seen[1].lam) << "ranks 0 and 1 drew the same λ: salt not applied";
  EXPECT_NE(rec.seen[1].lam, rec.seen[2].lam);
}

// Without mixup, K micro-batches of b average to the gradient of one batch of K·b: the same
// training to rounding. Both runs see the same samples in the same order.
TEST_F(DataParallelTest, MicroBatchesWithoutMixupMatchOneBigBatch) {
  auto run = [&](std::int64_t bs, int accum, int virt) {
    SimpleCnn model({1, 8, 10}, {3, 3}, {2, 2}, true, 1);
    LearnerConfig cfg = config(bs);
    cfg.parallel.accum = accum;
    cfg.parallel.virtual_ranks = virt;
    Learner learn(model, train(256), valid(128), cfg);
    return learn.fit(2);
  };
  const auto big = run(32, 1, 1), accum = run(16, 2, 1), virt = run(8, 2, 2);
  for (std::size_t e = 0; e < big.size(); ++e) {
    for (const auto* r : {&accum, &virt}) {
      EXPECT_NEAR((*r)[e].train_loss, big[e].train_loss, 1e-5 * big[e].train_loss) << "epoch " << e;
      EXPECT_NEAR((*r)[e].valid_loss, big[e].valid_loss, 1e-5 * big[e].valid_loss) << "epoch " << e;
    }
  }
  EXPECT_NE(accum[1].train_loss, big[1].train_loss)
      << "bit-equal: the comparison cannot tell the paths apart";
}

TEST_F(DataParallelTest, MixupOffEpochLeavesTheLastEpochsUnmixed) {
  SimpleCnn model({1, 4, 10}, {3, 3}, {2, 2}, true, 1);
  LearnerConfig cfg = config(16);
  cfg.parallel.accum = 2;
  Learner learn(model, train(64), valid(16), cfg);
  MixUpCallback mix(0.4f, 7);
  mix.set_off_epoch(2);
  Recorder rec;
  learn.add_callback(&mix);
  learn.add_callback(&rec);
  learn.fit(3);
  const std::vector<bool> want = {true, true, true, true, true, true, true, true, false, false, false, false};
  EXPECT_EQ(rec.mixed, want) << "4 micro-batches per epoch: mixed in epochs 0 and 1, not in 2";
}

TEST_F(DataParallelTest, AGlobalBatchLargerThanTheDataIsRefused) {
  SimpleCnn model({1, 4, 10}, {3, 3}, {2, 2}, true, 1);
  LearnerConfig cfg = config(16);
  cfg.parallel.virtual_ranks = 2;
  cfg.parallel.accum = 2;
  Learner learn(model, train(60), valid(16), cfg);
  try {
    learn.fit(1);
    FAIL() << "fit accepted a global batch of 64 from 60 images";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("more than the 60 training images"), std::string::npos) << e.what();
  }
}

}  // namespace
