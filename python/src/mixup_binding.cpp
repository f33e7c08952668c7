// _C.Handle: one mixup_handle_t that grows with the batch. The library sizes all scratch at
// creation (no allocation per call); a batch larger than that re-creates the handle at the
// new size with the same config, step, mixing policy and normalisation — the draws depend
// on (seed, salt, step, batch) only, so growing changes no result.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dlpack_in.hpp"
#include "errors.hpp"
#include "mixup/mixup.h"

namespace py = pybind11;

namespace mixup_py {

namespace {

struct Geometry {
  std::int64_t n, c, h, w;
  mixup_layout_t layout;
};

// [N], [N, D], [N, H, W] or [N, C, H, W] (contiguous or channels-last).
Geometry geometry_of(const Array& a) {
  if (a.ndim() < 1 || a.ndim() > 4) {
    throw py::value_error(a.name() + " has shape " + a.shape_str() +
                          "; it must be [N], [N, D], [N, H, W] or [N, C, H, W]" +
                          (a.ndim() == 0 ? " (a 0-d array is not a batch)" : " (reshape it)"));
  }
  const bool nhwc = a.channels_last();
  if (!nhwc) expect_contiguous(a);
  switch (a.ndim()) {
    case 1: return {a.dim(0), 1, 1, 1, MIXUP_LAYOUT_NCHW};
    case 2: return {a.dim(0), 1, 1, a.dim(1), MIXUP_LAYOUT_NCHW};
    case 3: return {a.dim(0), 1, a.dim(1), a.dim(2), MIXUP_LAYOUT_NCHW};
    default: return {a.dim(0), a.dim(1), a.dim(2), a.dim(3), nhwc ? MIXUP_LAYOUT_NHWC : MIXUP_LAYOUT_NCHW};
  }
}

void expect_int32(const Array& a, std::int64_t rows, std::int64_t cols) {
  const DLDataType& t = a.dtype();
  if (!(t.code == kDLInt && t.bits == 32 && t.lanes == 1)) {
    throw py::type_error(a.name() + " has dtype " + a.dtype_name() + "; it must be int32");
  }
  if (a.numel() != rows * cols || a.ndim() < 1 || a.dim(0) != rows) {
    throw py::value_error(a.name() + " has shape " + a.shape_str() + "; it must be [" + std::to_string(rows) +
                          (cols > 1 ? ", " + std::to_string(cols) : std::string()) + "]");
  }
  expect_contiguous(a);
}

}  // namespace

class Handle {
 public:
  Handle(int backend, int device, float alpha, int lambda_mode, int pairing, bool fold, std::uint64_t seed,
         std::uint32_t rank_salt, float label_smoothing, std::int32_t num_classes, std::int32_t max_batch,
         bool deferred_checks, bool graph_mode, int cpu_threads) {
    cfg_ = mixup_config_default();
    cfg_.backend = static_cast<mixup_backend_t>(backend);
    cfg_.device = device;
    cfg_.alpha = alpha;
    cfg_.lambda_mode = static_cast<mixup_lambda_mode_t>(lambda_mode);
    cfg_.pairing = static_cast<mixup_pairing_t>(pairing);
    cfg_.fold = fold ? 1 : 0;
    cfg_.seed = seed;
    cfg_.rank_salt = rank_salt;
    cfg_.label_smoothing = label_smoothing;
    cfg_.num_classes = num_classes;
    cfg_.max_batch = max_batch;
    cfg_.checks = deferred_checks ? MIXUP_CHECKS_DEFERRED : MIXUP_CHECKS_SYNC;
    cfg_.graph_mode = graph_mode ? 1 : 0;
    cfg_.cpu_threads = cpu_threads;
    mixing_ = mixup_mixing_default();
    check(mixup_create(&cfg_, &h_));
  }
  ~Handle() { mixup_destroy(h_); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  void set_mixing(float prob, float switch_prob, float cutmix_alpha, float lo, float hi, bool correct_lam) {
    mixup_mixing_t m = mixup_mixing_default();
    m.prob = prob;
    m.switch_prob = switch_prob;
    m.cutmix_alpha = cutmix_alpha;
    m.cutmix_minmax[0] = lo;
    m.cutmix_minmax[1] = hi;
    m.correct_lam = correct_lam ? 1 : 0;
    check(mixup_set_mixing(h_, &m));
    mixing_ = m;
  }

  void set_normalize(const std::vector<float>& mean, const std::vector<float>& std) {
    if (mean.size() != std.size()) throw py::value_error("normalize: mean and std must have the same length");
    check(mixup_set_normalize(h_, mean.data(), std.data(), static_cast<std::int32_t>(mean.size())));
    mean_ = mean;
    std_ = std;
  }

  std::uint64_t step() const {
    std::uint64_t s = 0;
    check(mixup_get_step(h_, &s));
    return s;
  }
  void set_step(std::uint64_t s) { check(mixup_set_step(h_, s)); }
  std::int32_t max_batch() const { return cfg_.max_batch; }
  Device device() const { return Device{cfg_.backend, cfg_.backend == MIXUP_BACKEND_CPU ? 0 : cfg_.device}; }

  void poll_checks(std::intptr_t stream) {
    py::gil_scoped_release nogil;
    check(mixup_poll_checks(h_, reinterpret_cast<void*>(stream)));
  }

  // One step. `mode` is a mixup_targets_mode_t; given_lam/given_perm replay caller draws.
  void apply(py::handle x_obj, py::handle out_obj, int mode, py::handle labels_obj, py::handle soft_in_obj,
             py::handle y_a_obj, py::handle y_b_obj, py::handle lam_obj, py::handle perm_obj,
             py::handle soft_out_obj, py::handle kind_obj, py::handle box_obj, py::handle given_lam_obj,
             py::handle given_perm_obj, std::optional<std::intptr_t> stream) {
    const Device dev = device();
    const auto s = dev.backend == MIXUP_BACKEND_CUDA ? stream : std::nullopt;
    Array x = borrow(x_obj, "x", s);
    Array out = borrow(out_obj, "out", s);
    expect_device(x, dev);
    expect_device(out, dev);
    const mixup_dtype_t xt = float_dtype(x, true), ot = float_dtype(out, false);
    const Geometry g = geometry_of(x), go = geometry_of(out);
    if (go.n != g.n || go.c != g.c || go.h != g.h || go.w != g.w || go.layout != g.layout) {
      throw py::value_error("out has shape " + out.shape_str() + " and x has shape " + x.shape_str() +
                            ": out must have x's shape and memory format");
    }
    if (g.n > INT32_MAX) throw py::value_error("x has " + std::to_string(g.n) + " samples; at most 2^31 - 1");
    const std::int64_t n = g.n, C = cfg_.num_classes;
    const auto vec = [&](py::handle o, const char* name, std::int64_t cols, bool f32) {
      std::optional<Array> a = borrow_opt(o, name, s);
      if (a) {
        expect_device(*a, dev);
        if (f32) expect_float32(*a, n * cols);
        else expect_int32(*a, n, cols);
      }
      return a;
    };
    auto labels = vec(labels_obj, "labels", 1, false);
    auto soft_in = vec(soft_in_obj, "soft targets", C, true);
    auto y_a = vec(y_a_obj, "y_a", 1, false), y_b = vec(y_b_obj, "y_b", 1, false);
    auto lam = vec(lam_obj, "lam", 1, true);
    auto perm = vec(perm_obj, "perm", 1, false);
    auto soft_out = vec(soft_out_obj, "soft_out", C, true);
    auto kind = vec(kind_obj, "kind", 1, false), box = vec(box_obj, "box", 4, false);
    auto given_lam = vec(given_lam_obj, "given lam", 1, true);
    auto given_perm = vec(given_perm_obj, "given perm", 1, false);
    if (given_lam.has_value() != given_perm.has_value())
      throw py::value_error("give both lam and perm, or neither");
    grow(static_cast<std::int32_t>(n), s);

    const mixup_batch_t cx{x.data(), xt, g.n, g.c, g.h, g.w, g.layout};
    const mixup_batch_t co{out.data(), ot, g.n, g.c, g.h, g.w, g.layout};
    mixup_targets_t t{};
    t.mode = static_cast<mixup_targets_mode_t>(mode);
    const auto ptr = [](const std::optional<Array>& a) { return a ? a->data() : nullptr; };
    t.labels = static_cast<const std::int32_t*>(ptr(labels));
    t.soft_in = static_cast<const float*>(ptr(soft_in));
    t.y_a = static_cast<std::int32_t*>(ptr(y_a));
    t.y_b = static_cast<std::int32_t*>(ptr(y_b));
    t.lam = static_cast<float*>(ptr(lam));
    t.perm = static_cast<std::int32_t*>(ptr(perm));
    t.soft_out = static_cast<float*>(ptr(soft_out));
    const mixup_draws_t d{static_cast<std::int32_t*>(ptr(kind)), static_cast<std::int32_t*>(ptr(box))};
    void* cs = reinterpret_cast<void*>(stream.value_or(0));
    mixup_status_t st;
    {
      py::gil_scoped_release nogil;
      if (given_lam) {
        st = mixup_apply_given(h_, &cx, static_cast<const float*>(given_lam->data()),
                               static_cast<const std::int32_t*>(given_perm->data()), &co, &t, cs);
      } else if (kind || box) {
        st = mixup_apply_with_draws(h_, &cx, &co, &t, &d, cs);
      } else {
        st = mixup_apply(h_, &cx, &co, &t, cs);
      }
    }
    check(st);
  }

 private:
  // A larger batch replaces the handle. With deferred checks the old one may hold a failure
  // not yet polled: it is polled first (one wait for the stream, only when growing) so that
  // failure is raised, not dropped with the handle.
  void grow(std::int32_t n, std::optional<std::intptr_t> stream) {
    if (n <= cfg_.max_batch) return;
    if (cfg_.checks == MIXUP_CHECKS_DEFERRED && cfg_.backend == MIXUP_BACKEND_CUDA) {
      py::gil_scoped_release nogil;
      check(mixup_poll_checks(h_, reinterpret_cast<void*>(stream.value_or(0))));
    }
    mixup_config_t c = cfg_;
    c.max_batch = n > INT32_MAX / 2 ? n : std::max(n, 2 * cfg_.max_batch);
    const std::uint64_t s = step();
    mixup_handle_t h = nullptr;
    check(mixup_create(&c, &h));
    mixup_status_t st = mixup_set_step(h, s);
    if (st == MIXUP_STATUS_SUCCESS) st = mixup_set_mixing(h, &mixing_);
    if (st == MIXUP_STATUS_SUCCESS && !mean_.empty()) {
      st = mixup_set_normalize(h, mean_.data(), std_.data(), static_cast<std::int32_t>(mean_.size()));
    }
    if (st != MIXUP_STATUS_SUCCESS) {
      mixup_destroy(h);
      check(st);
    }
    mixup_destroy(h_);
    h_ = h;
    cfg_ = c;
  }

  mixup_config_t cfg_{};
  mixup_mixing_t mixing_{};
  std::vector<float> mean_, std_;
  mixup_handle_t h_ = nullptr;
};

void bind_mixup(py::module_& m) {
  py::class_<Handle>(m, "Handle")
      .def(py::init<int, int, float, int, int, bool, std::uint64_t, std::uint32_t, float, std::int32_t,
                    std::int32_t, bool, bool, int>(),
           py::arg("backend"), py::arg("device"), py::arg("alpha"), py::arg("lambda_mode"),
           py::arg("pairing"), py::arg("fold"), py::arg("seed"), py::arg("rank_salt"),
           py::arg("label_smoothing"), py::arg("num_classes"), py::arg("max_batch"),
           py::arg("deferred_checks") = false, py::arg("graph_mode") = false, py::arg("cpu_threads") = 0)
      .def("set_mixing", &Handle::set_mixing, py::arg("prob"), py::arg("switch_prob"),
           py::arg("cutmix_alpha"), py::arg("lo"), py::arg("hi"), py::arg("correct_lam"))
      .def("set_normalize", &Handle::set_normalize, py::arg("mean"), py::arg("std"))
      .def_property("step", &Handle::step, &Handle::set_step)
      .def_property_readonly("max_batch", &Handle::max_batch)
      .def("poll_checks", &Handle::poll_checks, py::arg("stream") = 0)
      .def("apply", &Handle::apply, py::arg("x"), py::arg("out"), py::kw_only(), py::arg("mode"),
           py::arg("labels") = py::none(), py::arg("soft_in") = py::none(), py::arg("y_a") = py::none(),
           py::arg("y_b") = py::none(), py::arg("lam") = py::none(), py::arg("perm") = py::none(),
           py::arg("soft_out") = py::none(), py::arg("kind") = py::none(), py::arg("box") = py::none(),
           py::arg("given_lam") = py::none(), py::arg("given_perm") = py::none(),
           py::arg("stream") = py::none());
}

}  // namespace mixup_py
