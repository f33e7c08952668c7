// The CUDA backend of a build without CUDA (-DMIXUP_CUDA=OFF): the same C ABI, and every way
// into the backend answers NO_DEVICE, saying the build has no CUDA. Stands in for
// cuda_backend.cpp and loss_cuda.cpp; kernels/*.cu are not built at all.
#include "backend_setup.hpp"
#include "handle.hpp"
#include "loss_handle.hpp"

namespace mixup::detail {

struct CudaState {};
struct LossCudaState {};
void CudaStateDelete::operator()(CudaState* s) const { delete s; }
void LossCudaStateDelete::operator()(LossCudaState* s) const { delete s; }

namespace {
[[noreturn]] void no_cuda() {
  checked_device(0);  // throws NO_DEVICE: "the CUDA backend is not in this build"
  throw Error(MIXUP_STATUS_NO_DEVICE, "the CUDA backend is not in this build");
}
}  // namespace

void cuda_create(mixup_handle_s&) { no_cuda(); }
void cuda_apply(mixup_handle_s&, Request&, cudaStream_t) { no_cuda(); }
void cuda_set_step(mixup_handle_s&, std::uint64_t) { no_cuda(); }
std::uint64_t cuda_get_step(mixup_handle_s&) { no_cuda(); }
void cuda_poll_checks(mixup_handle_s&, cudaStream_t) { no_cuda(); }

void loss_cuda_create(mixup_loss_s&) { no_cuda(); }
void loss_cuda_cross_entropy(mixup_loss_s&, core::CeParams&, cudaStream_t) { no_cuda(); }
void loss_cuda_combine(mixup_loss_s&, const float*, const float*, const float*, std::int64_t, core::Reduction,
                       float*, cudaStream_t) {
  no_cuda();
}
void loss_cuda_poll(mixup_loss_s&, cudaStream_t) { no_cuda(); }

}  // namespace mixup::detail
