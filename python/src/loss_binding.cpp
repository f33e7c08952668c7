// _C.Loss: one mixup_loss_t that grows with the batch (scratch is sized at creation).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <optional>
#include <string>

#include "dlpack_in.hpp"
#include "errors.hpp"
#include "mixup/loss.h"

namespace py = pybind11;

namespace mixup_py {

class Loss {
 public:
  Loss(int backend, int device, std::int32_t max_batch, bool deferred_checks, int cpu_threads) {
    cfg_ = mixup_loss_config_default();
    cfg_.backend = static_cast<mixup_backend_t>(backend);
    cfg_.device = device;
    cfg_.max_batch = max_batch;
    cfg_.checks = deferred_checks ? MIXUP_CHECKS_DEFERRED : MIXUP_CHECKS_SYNC;
    cfg_.cpu_threads = cpu_threads;
    check(mixup_loss_create(&cfg_, &h_));
  }
  ~Loss() { mixup_loss_destroy(h_); }
  Loss(const Loss&) = delete;
  Loss& operator=(const Loss&) = delete;

  std::int32_t max_batch() const { return cfg_.max_batch; }
  Device device() const { return Device{cfg_.backend, cfg_.backend == MIXUP_BACKEND_CPU ? 0 : cfg_.device}; }

  // The fused loss, and the gradient when `grad` is given. reduction: a mixup_reduction_t.
  void cross_entropy(py::handle logits_obj, py::handle loss_obj, py::handle y_a_obj, py::handle y_b_obj,
                     py::handle lam_obj, py::handle soft_obj, py::handle grad_obj, float label_smoothing,
                     std::int32_t ignore_index, int reduction, float loss_scale,
                     std::optional<std::intptr_t> stream) {
    const Device dev = device();
    const auto s = dev.backend == MIXUP_BACKEND_CUDA ? stream : std::nullopt;
    Array logits = borrow(logits_obj, "logits", s);
    Array loss = borrow(loss_obj, "loss", s);
    expect_device(logits, dev);
    expect_device(loss, dev);
    const mixup_dtype_t lt = float_dtype(logits, false);
    if (logits.ndim() != 2) {
      throw py::value_error("logits has shape " + logits.shape_str() + "; it must be [batch, classes]" +
                            (logits.ndim() == 0 ? " (a 0-d tensor is not a batch of rows)" : ""));
    }
    expect_contiguous(logits);
    const std::int64_t B = logits.dim(0), C = logits.dim(1);
    if (B > INT32_MAX || C > INT32_MAX || B == 0 || C == 0) {
      throw py::value_error("logits has shape " + logits.shape_str() +
                            "; batch and classes must be in [1, 2^31)");
    }
    if (reduction < MIXUP_REDUCTION_NONE || reduction > MIXUP_REDUCTION_SUM) {
      throw py::value_error("reduction must be 'none', 'mean' or 'sum'");
    }
    expect_float32(loss, reduction == MIXUP_REDUCTION_NONE ? B : 1);
    const auto opt = [&](py::handle o, const char* name) {
      std::optional<Array> a = borrow_opt(o, name, s);
      if (a) expect_device(*a, dev);
      return a;
    };
    auto y_a = opt(y_a_obj, "y_a"), y_b = opt(y_b_obj, "y_b"), lam = opt(lam_obj, "lam");
    auto soft = opt(soft_obj, "soft targets"), grad = opt(grad_obj, "grad");
    if (y_a) expect_int32_vector(*y_a, B);
    if (y_b) expect_int32_vector(*y_b, B);
    if (lam) expect_float32(*lam, B);
    if (soft) expect_float32(*soft, B * C);
    mixup_dtype_t gt = MIXUP_DTYPE_F32;
    if (grad) {
      gt = float_dtype(*grad, false);
      if (gt != lt && gt != MIXUP_DTYPE_F32) {
        throw py::type_error("grad has dtype " + grad->dtype_name() +
                             "; it must be the logits' dtype or float32");
      }
      if (grad->numel() != B * C) {
        throw py::value_error("grad has shape " + grad->shape_str() + "; it must be logits' shape " +
                              logits.shape_str());
      }
      expect_contiguous(*grad);
    }
    grow(static_cast<std::int32_t>(B), s);

    mixup_ce_args_t a = mixup_ce_args_default();
    a.logits = logits.data();
    a.dtype = lt;
    a.batch = B;
    a.classes = static_cast<std::int32_t>(C);
    const auto ptr = [](const std::optional<Array>& o) { return o ? o->data() : nullptr; };
    a.y_a = static_cast<const std::int32_t*>(ptr(y_a));
    a.y_b = static_cast<const std::int32_t*>(ptr(y_b));
    a.lam = static_cast<const float*>(ptr(lam));
    a.soft_targets = static_cast<const float*>(ptr(soft));
    a.label_smoothing = label_smoothing;
    a.ignore_index = ignore_index;
    a.reduction = static_cast<mixup_reduction_t>(reduction);
    a.loss_scale = loss_scale;
    a.loss = static_cast<float*>(loss.data());
    a.grad = ptr(grad);
    a.grad_dtype = gt;
    void* cs = reinterpret_cast<void*>(stream.value_or(0));
    mixup_status_t st;
    {
      py::gil_scoped_release nogil;
      st = mixup_cross_entropy(h_, &a, cs);
    }
    check(st);
  }

  void poll_checks(std::intptr_t stream) {
    py::gil_scoped_release nogil;
    check(mixup_loss_poll_checks(h_, reinterpret_cast<void*>(stream)));
  }

 private:
  // A larger batch replaces the handle. With deferred checks the old one may hold a failure
  // not yet polled: it is polled first (one wait for the stream, only when growing) so that
  // failure is raised, not dropped with the handle.
  void grow(std::int32_t n, std::optional<std::intptr_t> stream) {
    if (n <= cfg_.max_batch) return;
    if (cfg_.checks == MIXUP_CHECKS_DEFERRED && cfg_.backend == MIXUP_BACKEND_CUDA) {
      py::gil_scoped_release nogil;
      check(mixup_loss_poll_checks(h_, reinterpret_cast<void*>(stream.value_or(0))));
    }
    mixup_loss_config_t c = cfg_;
    c.max_batch = n > INT32_MAX / 2 ? n : std::max(n, 2 * cfg_.max_batch);
    mixup_loss_t h = nullptr;
    check(mixup_loss_create(&c, &h));
    mixup_loss_destroy(h_);
    h_ = h;
    cfg_ = c;
  }

  mixup_loss_config_t cfg_{};
  mixup_loss_t h_ = nullptr;
};

void bind_loss(py::module_& m) {
  py::class_<Loss>(m, "Loss")
      .def(py::init<int, int, std::int32_t, bool, int>(), py::arg("backend"), py::arg("device"),
           py::arg("max_batch"), py::arg("deferred_checks") = false, py::arg("cpu_threads") = 0)
      .def_property_readonly("max_batch", &Loss::max_batch)
      .def("poll_checks", &Loss::poll_checks, py::arg("stream") = 0)
      .def("cross_entropy", &Loss::cross_entropy, py::arg("logits"), py::arg("loss"), py::kw_only(),
           py::arg("y_a") = py::none(), py::arg("y_b") = py::none(), py::arg("lam") = py::none(),
           py::arg("soft") = py::none(), py::arg("grad") = py::none(), py::arg("label_smoothing") = 0.0f,
           py::arg("ignore_index") = -100, py::arg("reduction") = 1, py::arg("loss_scale") = 1.0f,
           py::arg("stream") = py::none());
}

}  // namespace mixup_py
