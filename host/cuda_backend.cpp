// The CUDA backend: device scratch owned by the handle (sized for max_batch at creation, so
// a call never allocates), two launches per call (pairing, then the blend right behind it
// with programmatic stream serialization where the device has it), and the read-back of the
// device-side check in MIXUP_CHECKS_SYNC mode.
#include "error.hpp"
#include "guarded.hpp"
#include "backend_setup.hpp"
#include "handle.hpp"

namespace mixup::detail {

struct CudaState {
  int device = 0;
  bool programmatic_launch = false;  // compute capability 9.0 or later
  std::int32_t* sigma = nullptr;
  std::int32_t* rank = nullptr;
  float* lam = nullptr;
  float* one_minus = nullptr;
  std::int32_t* kind = nullptr;  // per λ stream: what it mixes (MixKind), and its CutMix box
  core::Box* box = nullptr;
  std::int32_t* zeroed = nullptr;       // seen [max_batch], first_bad, arrived: zero between calls
  core::DeviceCheck* check = nullptr;   // [0] this call's verdict, [1] first failure since the last poll
  std::uint64_t* step_words = nullptr;  // graph mode: the next step, on the device
  void* workspace = nullptr;
  std::size_t workspace_bytes = 0;
  core::DeviceCheck* host_check = nullptr;  // pinned
  ~CudaState() {
    // Never throws: errors while freeing are ignored (the context may already be gone).
    cudaFree(sigma);
    cudaFree(rank);
    cudaFree(lam);
    cudaFree(one_minus);
    cudaFree(kind);
    cudaFree(box);
    cudaFree(zeroed);
    cudaFree(check);
    cudaFree(step_words);
    cudaFree(workspace);
    cudaFreeHost(host_check);
  }
};

void CudaStateDelete::operator()(CudaState* s) const { delete s; }

namespace {


// seen [max_batch], first_bad [kNumCheckCodes], arrived [1]
std::size_t zeroed_words(std::size_t max_batch) { return max_batch + core::kNumCheckCodes + 1; }

template <class T>
void alloc(T** p, std::size_t count) {
  MIXUP_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(p), count * sizeof(T)));
}

// Reads check slot `slot` and clears the first-failure slot when it reports it (a failure is
// reported once: here in SYNC mode, by the next poll in DEFERRED mode).
core::DeviceCheck read_slot(CudaState& s, int slot, cudaStream_t stream) {
  MIXUP_CUDA_CHECK(cudaMemcpyAsync(s.host_check, s.check + slot, sizeof(core::DeviceCheck),
                                   cudaMemcpyDeviceToHost, stream));
  MIXUP_CUDA_CHECK(cudaStreamSynchronize(stream));
  const core::DeviceCheck c = *s.host_check;
  if (core::check_failed(c))
    MIXUP_CUDA_CHECK(cudaMemsetAsync(s.check + 1, 0, sizeof(core::DeviceCheck), stream));
  return c;
}

void read_check(mixup_handle_s& h, const Request& r, cudaStream_t stream) {
  const core::DeviceCheck c = read_slot(*h.cuda, 0, stream);
  if (core::check_failed(c))
    throw Error(MIXUP_STATUS_INVALID_VALUE, describe_check(c, r.pairing.batch, r.pairing.num_classes));
}

}  // namespace

void cuda_create(mixup_handle_s& h) {
  std::unique_ptr<CudaState, CudaStateDelete> s(new CudaState);
  s->device = checked_device(h.config.device);
  DeviceGuard guard(s->device);
  s->programmatic_launch = programmatic_launch_available(s->device, core::blend_waits_for_pairing());
  const std::size_t n = static_cast<std::size_t>(h.config.max_batch);
  alloc(&s->sigma, n);
  alloc(&s->rank, n);
  alloc(&s->lam, n);
  alloc(&s->one_minus, n);
  alloc(&s->kind, n);
  alloc(&s->box, n);
  alloc(&s->zeroed, zeroed_words(n));
  MIXUP_CUDA_CHECK(cudaMemset(s->zeroed, 0, zeroed_words(n) * sizeof(std::int32_t)));
  alloc(&s->check, 2);
  alloc(&s->step_words, 1);
  MIXUP_CUDA_CHECK(cudaMemset(s->check, 0, 2 * sizeof(core::DeviceCheck)));
  MIXUP_CUDA_CHECK(cudaMemset(s->step_words, 0, sizeof(std::uint64_t)));
  s->workspace_bytes = core::pairing_workspace_bytes(h.config.max_batch);
  if (s->workspace_bytes > 0) MIXUP_CUDA_CHECK(cudaMalloc(&s->workspace, s->workspace_bytes));
  MIXUP_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&s->host_check), sizeof(core::DeviceCheck)));
  h.cuda = std::move(s);
}

void cuda_apply(mixup_handle_s& h, Request& r, cudaStream_t stream) {
  CudaState& s = *h.cuda;
  DeviceGuard guard(s.device);
  core::PairingLaunch& p = r.pairing;
  const std::size_t n = static_cast<std::size_t>(h.config.max_batch);
  p.sigma = s.sigma;
  p.rank = s.rank;
  p.lam = s.lam;
  p.one_minus = s.one_minus;
  p.kind = s.kind;
  p.box = s.box;
  p.seen = s.zeroed;
  p.first_bad = s.zeroed + n;
  p.arrived = reinterpret_cast<std::uint32_t*>(s.zeroed + n + core::kNumCheckCodes);
  p.check = s.check;
  p.first_failure = s.check + 1;
  p.workspace = s.workspace;
  p.workspace_bytes = s.workspace_bytes;
  if (h.config.graph_mode && r.advance_step) {
    p.device_step = &s.step_words[0];
  }
  core::BlendParams& b = r.blend;
  b.perm = nullptr;
  b.lam = nullptr;
  b.one_minus = nullptr;
  b.pairs = core::pairs_view(p);
  b.check = s.check;
  b.perm_out = p.perm_out;
  b.lam_out = p.lam_out;
  b.kind_out = p.kind_out;
  b.box_out = p.box_out;
  b.y_a = p.labels != nullptr ? p.y_a : nullptr;
  b.y_b = p.labels != nullptr ? p.y_b : nullptr;
  b.after_pairing = s.programmatic_launch && !h.hooks.serial_launches;
  MIXUP_CUDA_CHECK(core::blend_launch_check(r.blend));  // refused before anything is enqueued
  MIXUP_CUDA_CHECK(core::launch_pairing(p, stream));
  const cudaError_t blended = h.hooks.fail_blend_launch ? cudaErrorLaunchOutOfResources
                                                        : core::launch_blend(r.blend, stream);
  if (blended != cudaSuccess) {
    // The pairing ran, the blend did not: the outputs are untouched (only the blend writes
    // them); the device step the pairing advanced is put back. Then the blend's error.
    (void)cudaGetLastError();
    if (p.device_step != nullptr) (void)core::launch_undo_step(p.device_step, s.check, stream);
    MIXUP_CUDA_CHECK(blended);
  }
  if (h.config.checks == MIXUP_CHECKS_SYNC) read_check(h, r, stream);
}

void cuda_set_step(mixup_handle_s& h, std::uint64_t step) {
  DeviceGuard guard(h.cuda->device);
  MIXUP_CUDA_CHECK(cudaMemcpy(&h.cuda->step_words[0], &step, sizeof step, cudaMemcpyHostToDevice));
}

std::uint64_t cuda_get_step(mixup_handle_s& h) {
  DeviceGuard guard(h.cuda->device);
  std::uint64_t step = 0;
  MIXUP_CUDA_CHECK(cudaMemcpy(&step, &h.cuda->step_words[0], sizeof step, cudaMemcpyDeviceToHost));
  return step;
}

void cuda_poll_checks(mixup_handle_s& h, cudaStream_t stream) {
  CudaState& s = *h.cuda;
  DeviceGuard guard(s.device);
  const core::DeviceCheck c = read_slot(s, 1, stream);
  if (core::check_failed(c))
    throw Error(MIXUP_STATUS_INVALID_VALUE, describe_polled_check(c, -1, h.config.num_classes));
}

}  // namespace mixup::detail
