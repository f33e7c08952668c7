// When programmatic dependent launch is safe (kernels/pdl.cuh): only where the loaded code was
// compiled from a compute_90+ virtual architecture (so pdl_wait is in it) and runs on sm_90+.
// The cases are the builds the release preset and users make, read as cudaFuncAttributes would
// report them on the device named.
#include <gtest/gtest.h>

#include "pdl.cuh"

namespace {

using mixup::core::pdl_wait_compiled_in;

TEST(Pdl, OnlyCodeCompiledForSm90OrLaterWaits) {
  EXPECT_TRUE(pdl_wait_compiled_in(90, 90)) << "sm_90 SASS on an H100";
  EXPECT_TRUE(pdl_wait_compiled_in(90, 100)) << "compute_90 PTX JIT-compiled on a B200";
  EXPECT_TRUE(pdl_wait_compiled_in(100, 100)) << "sm_100 SASS on a B200";
  EXPECT_TRUE(pdl_wait_compiled_in(120, 120)) << "sm_120 SASS";
  // compute_80 PTX JIT-compiled on an H100: binaryVersion 90, but __CUDA_ARCH__ was 800 and
  // the wait compiled to nothing
  EXPECT_FALSE(pdl_wait_compiled_in(80, 90)) << "compute_80 PTX JIT-compiled on an H100";
  EXPECT_FALSE(pdl_wait_compiled_in(80, 80)) << "sm_80 SASS on an A100";
  EXPECT_FALSE(pdl_wait_compiled_in(86, 89)) << "sm_89 SASS from compute_86";
  EXPECT_FALSE(pdl_wait_compiled_in(0, 0)) << "attributes not read";
}

}  // namespace
