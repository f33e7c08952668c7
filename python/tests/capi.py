"""The C ABI called directly through ctypes, on the same libmixup_cuda.so.0 the package
loaded: the independent path the binding is compared with, bit for bit. Struct layouts mirror
include/mixup/mixup.h and loss.h field by field (a mismatch shows as wrong results)."""
import ctypes as C

import numpy as np

import mixup_cuda

_lib = C.CDLL(mixup_cuda.library_path())
P = C.c_void_p


class Config(C.Structure):
    _fields_ = [("backend", C.c_int), ("device", C.c_int), ("alpha", C.c_float), ("lambda_mode", C.c_int),
                ("pairing", C.c_int), ("fold", C.c_int), ("seed", C.c_uint64), ("rank_salt", C.c_uint32),
                ("label_smoothing", C.c_float), ("num_classes", C.c_int32), ("max_batch", C.c_int32),
                ("stack_x", C.c_int), ("graph_mode", C.c_int), ("checks", C.c_int), ("cpu_threads", C.c_int)]


class Batch(C.Structure):
    _fields_ = [("data", P), ("dtype", C.c_int), ("n", C.c_int64), ("c", C.c_int64), ("h", C.c_int64),
                ("w", C.c_int64), ("layout", C.c_int)]


class Targets(C.Structure):
    _fields_ = [("mode", C.c_int), ("labels", P), ("soft_in", P), ("y_a", P), ("y_b", P), ("lam", P),
                ("soft_out", P), ("perm", P)]


class Mixing(C.Structure):
    _fields_ = [("prob", C.c_float), ("switch_prob", C.c_float), ("cutmix_alpha", C.c_float),
                ("cutmix_minmax", C.c_float * 2), ("correct_lam", C.c_int)]


class Draws(C.Structure):
    _fields_ = [("kind", P), ("box", P)]


class LossConfig(C.Structure):
    _fields_ = [("backend", C.c_int), ("device", C.c_int), ("max_batch", C.c_int32), ("checks", C.c_int),
                ("cpu_threads", C.c_int)]


class CeArgs(C.Structure):
    _fields_ = [("logits", P), ("dtype", C.c_int), ("batch", C.c_int64), ("classes", C.c_int32), ("y_a", P),
                ("y_b", P), ("lam", P), ("soft_targets", P), ("label_smoothing", C.c_float),
                ("ignore_index", C.c_int32), ("reduction", C.c_int), ("loss_scale", C.c_float), ("loss", P),
                ("grad", P), ("grad_dtype", C.c_int)]


_lib.mixup_config_default.restype = Config
_lib.mixup_mixing_default.restype = Mixing
_lib.mixup_loss_config_default.restype = LossConfig
_lib.mixup_ce_args_default.restype = CeArgs
_lib.mixup_last_error.restype = C.c_char_p
_lib.mixup_set_step.argtypes = [P, C.c_uint64]

DTYPES = {np.dtype("float32"): 0, np.dtype("float16"): 1, np.dtype("uint8"): 3}


def _p(a):
    return None if a is None else a.ctypes.data


def _check(status):
    if status != 0:
        raise RuntimeError(_lib.mixup_last_error().decode())


def apply(x, out, *, seed, step, alpha=0.4, lambda_mode=0, pairing=0, fold=1, num_classes=0, label_smoothing=0.0,
          mode=0, labels=None, soft_in=None, mixing=None, normalize=None, with_draws=False, shape=None):
    """One mixup_apply(_with_draws) on a fresh handle at `step`; returns the outputs as arrays."""
    n = x.shape[0]
    cfg = _lib.mixup_config_default()
    cfg.alpha, cfg.lambda_mode, cfg.pairing, cfg.fold, cfg.seed = alpha, lambda_mode, pairing, fold, seed
    cfg.num_classes, cfg.label_smoothing, cfg.max_batch, cfg.cpu_threads = num_classes, label_smoothing, n, 1
    h = P()
    _check(_lib.mixup_create(C.byref(cfg), C.byref(h)))
    try:
        _check(_lib.mixup_set_step(h, step))
        if mixing is not None:
            m = _lib.mixup_mixing_default()
            for k, v in mixing.items():
                if k == "cutmix_minmax":
                    m.cutmix_minmax[0], m.cutmix_minmax[1] = v
                else:
                    setattr(m, k, v)
            _check(_lib.mixup_set_mixing(h, C.byref(m)))
        if normalize is not None:
            mean, std = (np.asarray(v, np.float32) for v in normalize)
            _check(_lib.mixup_set_normalize(h, _p(mean), _p(std), len(mean)))
        n_, c, hh, w = shape
        bx = Batch(_p(x), DTYPES[x.dtype], n_, c, hh, w, 0)
        bo = Batch(_p(out), DTYPES[out.dtype], n_, c, hh, w, 0)
        res = {"lam": np.empty(n, np.float32), "perm": np.empty(n, np.int32)}
        t = Targets(mode, _p(labels), _p(soft_in), None, None, _p(res["lam"]), None, _p(res["perm"]))
        if mode == 1:
            res["y_a"], res["y_b"] = np.empty(n, np.int32), np.empty(n, np.int32)
            t.y_a, t.y_b = _p(res["y_a"]), _p(res["y_b"])
        if mode in (2, 3):
            res["soft_out"] = np.empty((n, num_classes), np.float32)
            t.soft_out = _p(res["soft_out"])
        if with_draws:
            res["kind"], res["box"] = np.empty(n, np.int32), np.empty((n, 4), np.int32)
            d = Draws(_p(res["kind"]), _p(res["box"]))
            _check(_lib.mixup_apply_with_draws(h, C.byref(bx), C.byref(bo), C.byref(t), C.byref(d), None))
        else:
            _check(_lib.mixup_apply(h, C.byref(bx), C.byref(bo), C.byref(t), None))
        return res
    finally:
        _lib.mixup_destroy(h)


def cross_entropy(logits, y_a, y_b=None, lam=None, *, label_smoothing=0.0, reduction=1, ignore_index=-100):
    """(loss, grad) from one mixup_cross_entropy on a fresh loss handle."""
    b, c = logits.shape
    cfg = _lib.mixup_loss_config_default()
    cfg.max_batch, cfg.cpu_threads = b, 1
    h = P()
    _check(_lib.mixup_loss_create(C.byref(cfg), C.byref(h)))
    try:
        a = _lib.mixup_ce_args_default()
        loss = np.empty(b if reduction == 0 else 1, np.float32)
        grad = np.empty_like(logits)
        a.logits, a.dtype, a.batch, a.classes = _p(logits), DTYPES[logits.dtype], b, c
        a.y_a, a.y_b, a.lam = _p(y_a), _p(y_b), _p(lam)
        a.label_smoothing, a.ignore_index, a.reduction = label_smoothing, ignore_index, reduction
        a.loss, a.grad, a.grad_dtype = _p(loss), _p(grad), DTYPES[logits.dtype]
        _check(_lib.mixup_cross_entropy(h, C.byref(a), None))
        return loss, grad
    finally:
        _lib.mixup_loss_destroy(h)
