// CUDA backend of the loss: device scratch (row losses, the check word) owned by the handle,
// the launches of cross_entropy.cu, and the read-back of the device check in SYNC mode.
#include "error.hpp"
#include "guarded.hpp"
#include "backend_setup.hpp"
#include "handle.hpp"
#include "loss_handle.hpp"

namespace mixup::detail {

struct LossCudaState {
  int device = 0;
  bool programmatic_launch = false;  // compute capability 9.0 or later
  float* rows = nullptr;
  core::CeState* state = nullptr;
  core::CeState* host_state = nullptr;  // pinned
  ~LossCudaState() {
    cudaFree(rows);
    cudaFree(state);
    cudaFreeHost(host_state);
  }
};

void LossCudaStateDelete::operator()(LossCudaState* s) const { delete s; }

namespace {


// SYNC mode reads this call's verdict, a poll the first failure since the last poll; either
// way a reported failure is cleared, so it is reported once.
void read_back(mixup_loss_s& h, cudaStream_t stream, std::int32_t batch, std::int32_t classes, bool poll) {
  LossCudaState& s = *h.cuda;
  MIXUP_CUDA_CHECK(
      cudaMemcpyAsync(s.host_state, s.state, sizeof(core::CeState), cudaMemcpyDeviceToHost, stream));
  MIXUP_CUDA_CHECK(cudaStreamSynchronize(stream));
  const core::DeviceCheck c = poll ? s.host_state->first_failure : s.host_state->check;
  if (!core::check_failed(c)) return;
  MIXUP_CUDA_CHECK(cudaMemsetAsync(&s.state->first_failure, 0, sizeof(core::DeviceCheck), stream));
  throw Error(MIXUP_STATUS_INVALID_VALUE,
              poll ? describe_polled_check(c, batch, classes) : describe_check(c, batch, classes));
}

}  // namespace

void loss_cuda_create(mixup_loss_s& h) {
  std::unique_ptr<LossCudaState, LossCudaStateDelete> s(new LossCudaState);
  s->device = checked_device(h.config.device);
  DeviceGuard guard(s->device);
  s->programmatic_launch = programmatic_launch_available(s->device, core::loss_rows_wait_for_check());
  MIXUP_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&s->rows), sizeof(float) * h.config.max_batch));
  MIXUP_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&s->state), sizeof(core::CeState)));
  MIXUP_CUDA_CHECK(cudaMemset(s->state, 0, sizeof(core::CeState)));
  MIXUP_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&s->host_state), sizeof(core::CeState)));
  h.cuda = std::move(s);
}

void loss_cuda_cross_entropy(mixup_loss_s& h, core::CeParams& p, cudaStream_t stream) {
  LossCudaState& s = *h.cuda;
  DeviceGuard guard(s.device);
  if (p.reduction != core::Reduction::kNone) p.row_loss = s.rows;
  MIXUP_CUDA_CHECK(core::launch_cross_entropy(p, s.state, s.programmatic_launch, stream));
  if (h.config.checks == MIXUP_CHECKS_SYNC)
    read_back(h, stream, static_cast<std::int32_t>(p.batch), p.classes, false);
}

void loss_cuda_combine(mixup_loss_s& h, const float* la, const float* lb, const float* lam, std::int64_t n,
                       core::Reduction red, float* out, cudaStream_t stream) {
  LossCudaState& s = *h.cuda;
  DeviceGuard guard(s.device);
  MIXUP_CUDA_CHECK(core::launch_combine_losses(la, lb, lam, n, red, s.rows, out, s.state, stream));
  if (h.config.checks == MIXUP_CHECKS_SYNC) read_back(h, stream, static_cast<std::int32_t>(n), 0, false);
}

void loss_cuda_poll(mixup_loss_s& h, cudaStream_t stream) {
  DeviceGuard guard(h.cuda->device);
  read_back(h, stream, -1, -1, true);
}

}  // namespace mixup::detail
