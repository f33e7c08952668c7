// The CUDA backend against the CPU backend on the same (seed, step): the same partners and
// the same λ bits (integer Philox words, then only IEEE basic operations with contraction off
// on both sides), the same blended bits; and a captured CUDA graph draws afresh on every
// replay; deferred device checks report a failed call even after good ones. Runs only where a
// GPU is present (scripts/gpu-check); skips, saying so, elsewhere.
#include "support.hpp"

#include <cmath>
#include <cstdlib>
#include <string>

#include "mixup/loss.h"

namespace {

using namespace mixup::test;

struct Result {
  std::vector<float> out, lam;
  std::vector<std::int32_t> perm;
};

Result run_backend(mixup_config_t c, mixup_backend_t backend, std::int32_t B, std::int32_t per,
                   std::uint64_t step) {
  c.backend = backend;
  mixup_handle_t h = nullptr;
  EXPECT_EQ(mixup_create(&c, &h), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  EXPECT_EQ(mixup_set_step(h, step), MIXUP_STATUS_SUCCESS);
  std::vector<float> x(static_cast<std::size_t>(B) * per);
  for (std::size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>((i * 2654435761u) % 977) / 97.0f - 5.0f;
  Result r{std::vector<float>(x.size()), std::vector<float>(B), std::vector<std::int32_t>(B)};
  void *dx = nullptr, *dout = nullptr, *dlam = nullptr, *dperm = nullptr;
  void *px = x.data(), *pout = r.out.data(), *plam = r.lam.data(), *pperm = r.perm.data();
  if (backend == MIXUP_BACKEND_CUDA) {
    cudaMalloc(&dx, x.size() * 4);
    cudaMalloc(&dout, x.size() * 4);
    cudaMalloc(&dlam, B * 4);
    cudaMalloc(&dperm, B * 4);
    cudaMemcpy(dx, x.data(), x.size() * 4, cudaMemcpyHostToDevice);
    px = dx, pout = dout, plam = dlam, pperm = dperm;
  }
  mixup_batch_t bx{px, MIXUP_DTYPE_F32, B, 1, 1, per, MIXUP_LAYOUT_NCHW};
  mixup_batch_t bo{pout, MIXUP_DTYPE_F32, B, 1, 1, per, MIXUP_LAYOUT_NCHW};
  mixup_targets_t t{};
  t.lam = static_cast<float*>(plam);
  t.perm = static_cast<std::int32_t*>(pperm);
  EXPECT_EQ(mixup_apply(h, &bx, &bo, &t, nullptr), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  if (backend == MIXUP_BACKEND_CUDA) {
    cudaMemcpy(r.out.data(), dout, x.size() * 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(r.lam.data(), dlam, B * 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(r.perm.data(), dperm, B * 4, cudaMemcpyDeviceToHost);
    cudaFree(dx), cudaFree(dout), cudaFree(dlam), cudaFree(dperm);
  }
  mixup_destroy(h);
  return r;
}

class CudaVsCpu : public BackendTest {};

// Under compute-sanitizer (scripts/gpu-check sets MIXUP_SANITIZER_SWEEP) the sweeps shrink to
// what still takes every kernel path (both pairing paths: B ≤ 4096 and B > 4096), so the run
// ends well inside its cap.
bool sanitizer_sweep() {
  const char* v = std::getenv("MIXUP_SANITIZER_SWEEP");
  return v != nullptr && *v != '\0' && *v != '0';
}

std::vector<std::int32_t> batches(std::vector<std::int32_t> full, std::vector<std::int32_t> small) {
  return sanitizer_sweep() ? small : full;
}

TEST_F(CudaVsCpu, SamePartnersLambdasAndBlend) {
  for (const mixup_pairing_t pairing :
       {MIXUP_PAIRING_PERMUTATION, MIXUP_PAIRING_INVOLUTION, MIXUP_PAIRING_FLIP})
    for (const mixup_lambda_mode_t mode : {MIXUP_LAMBDA_PER_SAMPLE, MIXUP_LAMBDA_PER_PAIR})
      for (const std::int32_t B : batches({1, 7, 65, 4096, 4097, 20000}, {7, 4097})) {
        mixup_config_t c = config_for_tests(20000);
        c.pairing = pairing;
        c.lambda_mode = mode;
        c.alpha = B % 2 ? 0.05f : 0.4f;
        const Result gpu = run_backend(c, MIXUP_BACKEND_CUDA, B, 37, 11);
        const Result cpu = run_backend(c, MIXUP_BACKEND_CPU, B, 37, 11);
        EXPECT_EQ(gpu.perm, cpu.perm) << "pairing " << pairing << " B " << B;
        int lam_diff = 0;
        for (int i = 0; i < B; ++i) lam_diff += gpu.lam[i] != cpu.lam[i];
        EXPECT_EQ(lam_diff, 0) << "λ bits differ for " << lam_diff << " of " << B << " samples";
        EXPECT_EQ(gpu.out, cpu.out) << "pairing " << pairing << " B " << B;
      }
}

// Graph mode: (seed, step) live on the device and the step advances there, so each replay of
// one captured graph draws new λ and partners — the ones the CPU draws at steps 0, 1, 2.
void expect_graph_replays_draw_fresh(const std::int32_t B) {
  const std::int32_t per = 5;
  mixup_config_t c = config_for_tests(B);
  c.backend = MIXUP_BACKEND_CUDA;
  c.graph_mode = 1;
  c.checks = MIXUP_CHECKS_DEFERRED;
  Handle h(c);
  Buf<float> x(B * per, 1.0f), out(B * per), lam(B);
  Buf<std::int32_t> perm(B);
  mixup_batch_t bx{x.ptr(), MIXUP_DTYPE_F32, B, 1, 1, per, MIXUP_LAYOUT_NCHW};
  mixup_batch_t bo{out.ptr(), MIXUP_DTYPE_F32, B, 1, 1, per, MIXUP_LAYOUT_NCHW};
  mixup_targets_t t{};
  t.lam = lam.ptr();
  t.perm = perm.ptr();
  cudaStream_t stream;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  cudaGraph_t graph;
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  ASSERT_EQ(mixup_apply(h, &bx, &bo, &t, stream), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  cudaGraphExec_t exec;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  std::vector<std::vector<float>> lams;
  for (std::uint64_t step = 0; step < 3; ++step) {
    ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    ASSERT_EQ(mixup_poll_checks(h, stream), MIXUP_STATUS_SUCCESS) << mixup_last_error();
    lams.push_back(lam.download());
    mixup_config_t cpu = c;
    cpu.graph_mode = 0;
    cpu.checks = MIXUP_CHECKS_SYNC;
    const Result want = run_backend(cpu, MIXUP_BACKEND_CPU, B, per, step);
    EXPECT_EQ(lams.back(), want.lam) << "replay " << step;
    EXPECT_EQ(perm.download(), want.perm) << "replay " << step;
  }
  EXPECT_NE(lams[0], lams[1]);
  EXPECT_NE(lams[1], lams[2]);
  std::uint64_t step = 0;
  ASSERT_EQ(mixup_get_step(h, &step), MIXUP_STATUS_SUCCESS);
  EXPECT_EQ(step, 3u);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaStreamDestroy(stream);
}

TEST_F(CudaVsCpu, GraphReplayDrawsFreshValues) { expect_graph_replays_draw_fresh(64); }
// B > 4096: the other pairing path (keys, CUB's radix sort, ties, tail) captured and replayed
TEST_F(CudaVsCpu, GraphReplayDrawsFreshValuesOnTheRadixPath) { expect_graph_replays_draw_fresh(5000); }

// A blend that fails to launch after the pairing ran (injected): the call fails, the outputs
// keep what they held, the step does not move — host step, and device step in graph mode —
// and the next call draws what the failed one would have.
TEST_F(CudaVsCpu, FailedBlendLaunchLeavesOutputsAndStepUntouched) {
  for (const int graph_mode : {0, 1}) {
    const std::int32_t B = 64, per = 5;
    mixup_config_t c = config_for_tests(B);
    c.backend = MIXUP_BACKEND_CUDA;
    c.graph_mode = graph_mode;
    Handle h(c);
    Buf<float> x(B * per, 1.5f), out(B * per, 7.0f), lam(B, -1.0f);
    Buf<std::int32_t> perm(B, -1);
    for (int i = 0; i < B * per; ++i) x.host[i] = static_cast<float>(i % 97);
    x.upload();
    mixup_batch_t bx{x.ptr(), MIXUP_DTYPE_F32, B, 1, 1, per, MIXUP_LAYOUT_NCHW};
    mixup_batch_t bo{out.ptr(), MIXUP_DTYPE_F32, B, 1, 1, per, MIXUP_LAYOUT_NCHW};
    mixup_targets_t t{};
    t.lam = lam.ptr();
    t.perm = perm.ptr();
    ASSERT_EQ(mixup_apply(h, &bx, &bo, &t, nullptr), MIXUP_STATUS_SUCCESS) << mixup_last_error();
    out.upload(), lam.upload(), perm.upload();  // the sentinels again
    mixup::detail::test_hooks(h).fail_blend_launch = true;
    EXPECT_NE(mixup_apply(h, &bx, &bo, &t, nullptr), MIXUP_STATUS_SUCCESS) << "graph_mode " << graph_mode;
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_EQ(out.download(), std::vector<float>(B * per, 7.0f)) << "graph_mode " << graph_mode;
    EXPECT_EQ(lam.download(), std::vector<float>(B, -1.0f)) << "graph_mode " << graph_mode;
    EXPECT_EQ(perm.download(), std::vector<std::int32_t>(B, -1)) << "graph_mode " << graph_mode;
    std::uint64_t step = 0;
    ASSERT_EQ(mixup_get_step(h, &step), MIXUP_STATUS_SUCCESS);
    EXPECT_EQ(step, 1u) << "graph_mode " << graph_mode;
    mixup::detail::test_hooks(h).fail_blend_launch = false;
    ASSERT_EQ(mixup_apply(h, &bx, &bo, &t, nullptr), MIXUP_STATUS_SUCCESS) << mixup_last_error();
    mixup_config_t cpu = c;
    cpu.graph_mode = 0;
    const Result want = run_backend(cpu, MIXUP_BACKEND_CPU, B, per, 1);
    EXPECT_EQ(lam.download(), want.lam) << "graph_mode " << graph_mode << ": not step 1's draws";
  }
}

// CutMix and the mixing policy: the same kinds, boxes, λ and partners, and the same output
// bits, out of place and in place, for uint8 → f32 normalisation and both layouts.
struct Mixed {
  std::vector<std::uint8_t> out;
  std::vector<float> lam;
  std::vector<std::int32_t> perm, kind, box;
};

Mixed run_mixed(mixup_config_t c, const mixup_mixing_t& m, mixup_backend_t backend, std::int32_t B,
                std::int32_t C, std::int32_t H, std::int32_t W, mixup_layout_t layout, mixup_dtype_t t,
                bool in_place, std::uint64_t step, cudaStream_t stream = nullptr, int replays = 1) {
  c.backend = backend;
  mixup_handle_t h = nullptr;
  EXPECT_EQ(mixup_create(&c, &h), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  EXPECT_EQ(mixup_set_mixing(h, &m), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  EXPECT_EQ(mixup_set_step(h, step), MIXUP_STATUS_SUCCESS);
  const mixup_dtype_t out_t = t == MIXUP_DTYPE_U8 ? MIXUP_DTYPE_F32 : t;
  const std::size_t count = static_cast<std::size_t>(B) * C * H * W;
  const std::size_t in_bytes = count * (t == MIXUP_DTYPE_U8 ? 1 : t == MIXUP_DTYPE_F32 ? 4 : 2);
  const std::size_t out_bytes = count * (out_t == MIXUP_DTYPE_F32 ? 4 : 2);
  std::vector<std::uint8_t> x(in_bytes);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 11);
  if (t == MIXUP_DTYPE_F32)  // keep the floats finite: clear each one's top exponent bit
    for (std::size_t i = 3; i < x.size(); i += 4) x[i] &= 0xBF;
  Mixed r{std::vector<std::uint8_t>(in_place ? in_bytes : out_bytes), std::vector<float>(B),
          std::vector<std::int32_t>(B), std::vector<std::int32_t>(B), std::vector<std::int32_t>(4 * B)};
  void *px = x.data(), *pout = r.out.data(), *plam = r.lam.data(), *pperm = r.perm.data(),
       *pkind = r.kind.data(), *pbox = r.box.data();
  if (backend == MIXUP_BACKEND_CUDA) {
    cudaMalloc(&px, in_bytes);
    if (!in_place) cudaMalloc(&pout, out_bytes);
    cudaMalloc(&plam, B * 4);
    cudaMalloc(&pperm, B * 4);
    cudaMalloc(&pkind, B * 4);
    cudaMalloc(&pbox, B * 16);
    cudaMemcpy(px, x.data(), in_bytes, cudaMemcpyHostToDevice);
  }
  if (in_place) pout = px;
  mixup_batch_t bx{px, t, B, C, H, W, layout};
  mixup_batch_t bo{pout, out_t, B, C, H, W, layout};
  mixup_targets_t tg{};
  tg.lam = static_cast<float*>(plam);
  tg.perm = static_cast<std::int32_t*>(pperm);
  mixup_draws_t dr{static_cast<std::int32_t*>(pkind), static_cast<std::int32_t*>(pbox)};
  if (replays > 1) {  // graph mode: capture one call, replay it
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    EXPECT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), cudaSuccess);
    EXPECT_EQ(mixup_apply_with_draws(h, &bx, &bo, &tg, &dr, stream), MIXUP_STATUS_SUCCESS)
        << mixup_last_error();
    EXPECT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
    EXPECT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
    for (int k = 0; k < replays; ++k) EXPECT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
    EXPECT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    EXPECT_EQ(mixup_poll_checks(h, stream), MIXUP_STATUS_SUCCESS) << mixup_last_error();
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
  } else {
    EXPECT_EQ(mixup_apply_with_draws(h, &bx, &bo, &tg, &dr, stream), MIXUP_STATUS_SUCCESS)
        << mixup_last_error();
  }
  if (backend == MIXUP_BACKEND_CUDA) {
    cudaMemcpy(r.out.data(), pout, r.out.size(), cudaMemcpyDeviceToHost);
    cudaMemcpy(r.lam.data(), plam, B * 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(r.perm.data(), pperm, B * 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(r.kind.data(), pkind, B * 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(r.box.data(), pbox, B * 16, cudaMemcpyDeviceToHost);
    cudaFree(px), cudaFree(in_place ? nullptr : pout), cudaFree(plam), cudaFree(pperm), cudaFree(pkind),
        cudaFree(pbox);
  } else if (in_place) {
    r.out = x;
  }
  mixup_destroy(h);
  return r;
}

void expect_same(const Mixed& gpu, const Mixed& cpu, const std::string& what) {
  EXPECT_EQ(gpu.kind, cpu.kind) << what;
  EXPECT_EQ(gpu.box, cpu.box) << what;
  EXPECT_EQ(gpu.perm, cpu.perm) << what;
  EXPECT_EQ(gpu.lam, cpu.lam) << what;
  EXPECT_TRUE(gpu.out == cpu.out) << what << ": output bytes differ";
}

TEST_F(CudaVsCpu, CutMixSameDrawsAndBitsAsTheCpu) {
  struct Case {
    float prob, switch_prob, minmax_hi;
    mixup_lambda_mode_t mode;
  };
  const Case cases[] = {{1.0f, 1.0f, 0.0f, MIXUP_LAMBDA_PER_SAMPLE},
                        {0.6f, 0.5f, 0.0f, MIXUP_LAMBDA_PER_SAMPLE},
                        {1.0f, 1.0f, 0.7f, MIXUP_LAMBDA_PER_PAIR},
                        {0.8f, 0.5f, 0.0f, MIXUP_LAMBDA_PER_BATCH}};
  for (const Case& k : cases)
    for (const mixup_layout_t layout : {MIXUP_LAYOUT_NCHW, MIXUP_LAYOUT_NHWC})
      for (const mixup_dtype_t t : {MIXUP_DTYPE_F32, MIXUP_DTYPE_BF16, MIXUP_DTYPE_U8})
        for (const bool in_place : {false, true})
          for (const std::int32_t B : batches({1, 7, 64, 5000}, {7, 5000})) {
            if (sanitizer_sweep() && (&k != cases || t == MIXUP_DTYPE_BF16)) continue;
            if (in_place && t == MIXUP_DTYPE_U8) continue;
            mixup_config_t c = config_for_tests(5000);
            c.pairing = MIXUP_PAIRING_INVOLUTION;
            c.lambda_mode = k.mode;
            mixup_mixing_t m = mixup_mixing_default();
            m.prob = k.prob;
            m.switch_prob = k.switch_prob;
            if (k.minmax_hi > 0.0f) m.cutmix_minmax[0] = 0.2f, m.cutmix_minmax[1] = k.minmax_hi;
            const std::int32_t H = B > 64 ? 8 : 29, W = B > 64 ? 8 : 31;
            const Mixed gpu = run_mixed(c, m, MIXUP_BACKEND_CUDA, B, 3, H, W, layout, t, in_place, 3);
            const Mixed cpu = run_mixed(c, m, MIXUP_BACKEND_CPU, B, 3, H, W, layout, t, in_place, 3);
            expect_same(gpu, cpu,
                        testing::PrintToString(std::vector<float>{k.prob, k.switch_prob, k.minmax_hi}) +
                            " mode " + std::to_string(k.mode) + " layout " + std::to_string(layout) +
                            " dtype " + std::to_string(t) + (in_place ? " in place" : "") + " B " +
                            std::to_string(B));
          }
}

// A captured CutMix call draws new boxes on every replay: after n replays the output is the
// CPU's call at step n − 1.
TEST_F(CudaVsCpu, CutMixGraphReplayDrawsFreshBoxes) {
  mixup_config_t c = config_for_tests(64);
  c.graph_mode = 1;
  c.checks = MIXUP_CHECKS_DEFERRED;
  mixup_mixing_t m = mixup_mixing_default();
  m.prob = 0.9f;
  m.switch_prob = 0.7f;
  cudaStream_t stream;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  std::vector<std::vector<std::int32_t>> boxes;
  for (const int replays : {2, 3}) {
    const Mixed gpu = run_mixed(c, m, MIXUP_BACKEND_CUDA, 64, 3, 16, 16, MIXUP_LAYOUT_NCHW, MIXUP_DTYPE_F32,
                                false, 0, stream, replays);
    mixup_config_t cpu = c;
    cpu.graph_mode = 0;
    cpu.checks = MIXUP_CHECKS_SYNC;
    const Mixed want = run_mixed(cpu, m, MIXUP_BACKEND_CPU, 64, 3, 16, 16, MIXUP_LAYOUT_NCHW, MIXUP_DTYPE_F32,
                                 false, static_cast<std::uint64_t>(replays - 1));
    expect_same(gpu, want, "after " + std::to_string(replays) + " replays");
    boxes.push_back(gpu.box);
  }
  EXPECT_NE(boxes[0], boxes[1]) << "replays drew the same boxes";
  cudaStreamDestroy(stream);
}

// DEFERRED checks: a call with a bad label writes nothing and returns success; a good call
// after it does not hide it: the next poll reports the first failure, the one after is clean.
TEST_F(CudaVsCpu, DeferredChecksReportTheFirstFailureOnce) {
  const std::int32_t B = 8, per = 3;
  mixup_config_t c = config_for_tests(B);
  c.checks = MIXUP_CHECKS_DEFERRED;
  Handle h(c);
  Buf<float> x(B * per, 2.0f), out(B * per, NAN), lam(B);
  Buf<std::int32_t> good(B), bad(B), ya(B), yb(B);
  for (int i = 0; i < B; ++i) good.host[i] = bad.host[i] = i % 10;
  bad.host[5] = 42;
  bad.upload();
  good.upload();
  mixup_batch_t bx{x.ptr(), MIXUP_DTYPE_F32, B, 1, 1, per, MIXUP_LAYOUT_NCHW};
  mixup_batch_t bo{out.ptr(), MIXUP_DTYPE_F32, B, 1, 1, per, MIXUP_LAYOUT_NCHW};
  mixup_targets_t t{};
  t.mode = MIXUP_TARGETS_STACKED;  // without it the labels were never read (now refused)
  t.labels = bad.ptr(), t.y_a = ya.ptr(), t.y_b = yb.ptr(), t.lam = lam.ptr();
  ASSERT_EQ(mixup_apply(h, &bx, &bo, &t, nullptr), MIXUP_STATUS_SUCCESS) << "deferred: no verdict yet";
  for (float v : out.download()) ASSERT_TRUE(std::isnan(v)) << "the failed call wrote its output";
  t.labels = good.ptr();
  ASSERT_EQ(mixup_apply(h, &bx, &bo, &t, nullptr), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  for (float v : out.download()) ASSERT_NEAR(v, 2.0f, 1e-5f) << "the good call wrote its output";
  ASSERT_EQ(mixup_poll_checks(h, nullptr), MIXUP_STATUS_INVALID_VALUE);
  const std::string msg = mixup_last_error();
  EXPECT_NE(msg.find("earlier call"), std::string::npos) << msg;
  EXPECT_NE(msg.find("label 42 of sample 5"), std::string::npos) << msg;
  EXPECT_EQ(mixup_poll_checks(h, nullptr), MIXUP_STATUS_SUCCESS) << "reported once: " << mixup_last_error();
}

// The same for the loss, and SYNC mode reports at once and leaves nothing for a later poll.
TEST_F(CudaVsCpu, LossDeferredChecksReportTheFirstFailureOnce) {
  const std::int32_t B = 4, C = 3;
  for (const mixup_checks_t mode : {MIXUP_CHECKS_DEFERRED, MIXUP_CHECKS_SYNC}) {
    mixup_loss_config_t lc = mixup_loss_config_default();
    lc.backend = MIXUP_BACKEND_CUDA;
    lc.max_batch = B;
    lc.checks = mode;
    mixup_loss_t loss = nullptr;
    ASSERT_EQ(mixup_loss_create(&lc, &loss), MIXUP_STATUS_SUCCESS) << mixup_last_error();
    Buf<float> z(B * C, 0.5f), out(1, NAN);
    Buf<std::int32_t> good(B, 1), bad(B, 1);
    bad.host[2] = 7;
    bad.upload();
    mixup_ce_args_t a = mixup_ce_args_default();
    a.logits = z.ptr(), a.batch = B, a.classes = C, a.y_a = bad.ptr(), a.loss = out.ptr();
    const mixup_status_t first = mixup_cross_entropy(loss, &a, nullptr);
    EXPECT_EQ(first, mode == MIXUP_CHECKS_SYNC ? MIXUP_STATUS_INVALID_VALUE : MIXUP_STATUS_SUCCESS);
    EXPECT_TRUE(std::isnan(out.download()[0])) << "the failed call wrote the loss";
    a.y_a = good.ptr();
    ASSERT_EQ(mixup_cross_entropy(loss, &a, nullptr), MIXUP_STATUS_SUCCESS) << mixup_last_error();
    EXPECT_NEAR(out.download()[0], std::log(3.0), 1e-6) << "equal logits: log C";
    if (mode == MIXUP_CHECKS_DEFERRED) {
      ASSERT_EQ(mixup_loss_poll_checks(loss, nullptr), MIXUP_STATUS_INVALID_VALUE);
      EXPECT_NE(std::string(mixup_last_error()).find("earlier call"), std::string::npos)
          << mixup_last_error();
    }
    EXPECT_EQ(mixup_loss_poll_checks(loss, nullptr), MIXUP_STATUS_SUCCESS)
        << "reported once: " << mixup_last_error();
    mixup_loss_destroy(loss);
  }
}

}  // namespace
