// "No allocation per call": after the handle is made, a call of the CPU backend allocates
// nothing on the heap — counted by replacing the global operator new for this binary.
#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include <gtest/gtest.h>

#include "mixup/mixup.h"

namespace {
std::atomic<long> g_allocations{0};
}

void* operator new(std::size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

TEST(NoAllocation, CpuCallsAllocateNothing) {
  for (const mixup_pairing_t pairing : {MIXUP_PAIRING_PERMUTATION, MIXUP_PAIRING_INVOLUTION}) {
    mixup_config_t c = mixup_config_default();
    c.max_batch = 512;
    c.num_classes = 10;
    c.cpu_threads = 2;
    c.pairing = pairing;
    mixup_handle_t h = nullptr;
    const long at_create = g_allocations.load();
    ASSERT_EQ(mixup_create(&c, &h), MIXUP_STATUS_SUCCESS);
    ASSERT_GT(g_allocations.load(), at_create) << "the counter must see the handle's own allocations";
    const int B = 512, P = 3 * 32 * 32;
    std::vector<std::uint8_t> x(B * P, 7);
    std::vector<float> out(B * P), lam(B), soft(B * 10);
    std::vector<std::int32_t> labels(B, 1), ya(B), yb(B);
    mixup_batch_t bx{x.data(), MIXUP_DTYPE_U8, B, 3, 32, 32, MIXUP_LAYOUT_NCHW};
    mixup_batch_t bo{out.data(), MIXUP_DTYPE_F32, B, 3, 32, 32, MIXUP_LAYOUT_NCHW};
    mixup_targets_t t{
        MIXUP_TARGETS_STACKED, labels.data(), nullptr, ya.data(), yb.data(), lam.data(), nullptr, nullptr};
    ASSERT_EQ(mixup_apply(h, &bx, &bo, &t, nullptr), MIXUP_STATUS_SUCCESS);  // warm-up
    const long before = g_allocations.load();
    for (int step = 0; step < 20; ++step)
      ASSERT_EQ(mixup_apply(h, &bx, &bo, &t, nullptr), MIXUP_STATUS_SUCCESS);
    t.mode = MIXUP_TARGETS_ONEHOT;
    t.y_a = t.y_b = nullptr;
    t.soft_out = soft.data();
    for (int step = 0; step < 5; ++step)
      ASSERT_EQ(mixup_apply(h, &bx, &bo, &t, nullptr), MIXUP_STATUS_SUCCESS);
    EXPECT_EQ(g_allocations.load() - before, 0) << "heap allocations during 25 calls";
    mixup_destroy(h);
  }
}

}  // namespace
