// The CPU engine: the batch stays in the BatchState's host vectors, the host SimpleCnn is the
// model itself, and the layers run on a thread pool owned here.
#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "batch.hpp"
#include "engine.hpp"
#include "layers.hpp"
#include "optim.hpp"
#include "thread_pool.hpp"

namespace mixup::nn {
namespace {

class CpuEngine final : public Engine {
 public:
  CpuEngine(SimpleCnn& model, const EngineConfig& c)
      : model_(model), pool_(c.threads), opt_(0.9f, 0.99f, 1e-8f, c.weight_decay) {}

  bool on_gpu() const override { return false; }
  void* stream() override { return nullptr; }
  void upload(BatchState&) override {}

  PlainInput plain_input(BatchState& b) override {
    ones_.assign(static_cast<std::size_t>(b.n), 1.0f);
    self_.resize(static_cast<std::size_t>(b.n));
    std::iota(self_.begin(), self_.end(), 0);
    b.x.resize(b.images.size());
    b.y_a = b.labels;
    return PlainInput{b.images.data(), b.x.data(), ones_.data(), self_.data()};
  }

  const float* forward(BatchState& b, bool train) override {
    return model_.forward(b.x.data(), Shape4{b.n, 1, b.h, b.w}, pool_, train).data();
  }

  float* grad(std::int64_t n) override {
    grad_.assign(static_cast<std::size_t>(n * model_.classes()), 0.0f);
    return grad_.data();
  }
  float* loss_out() override { return &loss_; }
  float loss_value() override { return loss_; }

  void backward(const float* grad) override { model_.backward(grad, pool_); }

  void step(float lr, float beta1) override {
    opt_.step(tensors(Flat::params), tensors(Flat::grads), lr, beta1);
  }

  void read_flat(Flat what, std::vector<float>& out) override {
    out.clear();
    for (const std::vector<float>* t : tensors(what)) out.insert(out.end(), t->begin(), t->end());
  }
  void write_flat(Flat what, const std::vector<float>& in) override {
    std::size_t need = 0;
    for (const std::vector<float>* t : tensors(what)) need += t->size();
    if (in.size() != need)
      throw std::invalid_argument("write_flat: " + std::to_string(in.size()) + " floats for a part of " +
                                  std::to_string(need));
    auto from = in.begin();
    for (std::vector<float>* t : tensors(what)) {
      std::copy(from, from + static_cast<std::ptrdiff_t>(t->size()), t->begin());
      from += static_cast<std::ptrdiff_t>(t->size());
    }
  }

  const float* host_logits(const float* logits, std::int64_t) override { return logits; }
  void sync_model() override {}

 private:
  std::vector<std::vector<float>*> tensors(Flat what) {
    std::vector<std::vector<float>*> t;
    const bool grads = what == Flat::grads;
    if (what != Flat::buffers)
      for (Conv2d& conv : model_.layers()) {
        t.push_back(grads ? &conv.grad_weight : &conv.weight);
        t.push_back(grads ? &conv.grad_bias : &conv.bias);
      }
    for (BatchNorm2d& bn : model_.norms()) {
      if (what == Flat::buffers) {
        t.push_back(&bn.running_mean), t.push_back(&bn.running_var);
      } else {
        t.push_back(grads ? &bn.grad_gamma : &bn.gamma);
        t.push_back(grads ? &bn.grad_beta : &bn.beta);
      }
    }
    return t;
  }

  SimpleCnn& model_;
  detail::ThreadPool pool_;
  AdamW opt_;
  std::vector<float> ones_, grad_;
  std::vector<std::int32_t> self_;
  float loss_ = 0.0f;
};

}  // namespace

std::unique_ptr<Engine> make_cpu_engine(SimpleCnn& model, const EngineConfig& c) {
  return std::make_unique<CpuEngine>(model, c);
}

}  // namespace mixup::nn
