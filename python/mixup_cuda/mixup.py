"""mixup_cuda.Mixup: the fused mixup / CutMix op, one call per step, on the caller's arrays."""
import secrets
import sys

from . import _C, _arrays
from . import loss as _loss

_LAMBDA_MODES = {"sample": 0, "batch": 1, "pair": 2}
_PAIRINGS = {"permutation": 0, "involution": 1, "flip": 2}
_TARGETS = {"none": 0, "stacked": 1, "onehot": 2, "soft": 3}
_CHECKS = ("sync", "deferred")
_ZERO_D = "x is 0-d; it must be a batch: [N], [N, D], [N, H, W] or [N, C, H, W]"
_REQUIRES_GRAD = "x requires grad: mixup is applied to inputs, not differentiated; pass x.detach()"


def _choice(name, value, table):
    if value not in table:
        raise ValueError(f"{name}={value!r}: choose one of {', '.join(repr(k) for k in table)}")
    return table[value]


class Mixup:
    """Mixup (Zhang et al., 2018) as fastai runs it, and CutMix beside it, fused.

    ``m(x, y)`` returns ``(x_mixed, y_a, y_b, lam)`` for a dual-target loss
    (``mixup_cuda.cross_entropy``); with ``targets="onehot"`` (``y`` class indices) or
    ``targets="soft"`` (``y`` rows [N, num_classes]) it returns ``(x_mixed, soft_targets)``.
    Outputs are arrays of x's framework (torch in, torch out; NumPy in, NumPy out), written
    by the library through DLPack with no copy; ``out=x`` mixes in place (involution pairing
    only). The step advances by one per call; ``m.step`` may be set to replay a step. The
    library's handle is created at the first call, on x's device, and grows when a larger
    batch arrives.
    """

    def __init__(self, alpha=0.4, *, lambda_mode="sample", pairing="permutation", fold=True, prob=1.0,
                 switch_prob=0.0, cutmix_alpha=1.0, cutmix_minmax=None, correct_lam=True, label_smoothing=0.0,
                 num_classes=None, seed=None, rank=0, normalize=None, device=None, targets="stacked",
                 checks="sync", graph_mode=False, cpu_threads=None):
        self._lambda_mode = _choice("lambda_mode", lambda_mode, _LAMBDA_MODES)
        self._pairing = _choice("pairing", pairing, _PAIRINGS)
        _choice("targets", targets, _TARGETS)
        if checks not in _CHECKS:
            raise ValueError(f"checks={checks!r}: choose 'sync' or 'deferred'")
        if num_classes is not None and (not isinstance(num_classes, int) or num_classes <= 0):
            raise ValueError(f"num_classes={num_classes!r} must be a positive int (or None)")
        if cutmix_minmax is not None and len(cutmix_minmax) != 2:
            raise ValueError("cutmix_minmax must be None or (lo, hi)")
        if normalize is not None and len(normalize) != 2:
            raise ValueError("normalize must be None or (mean, std), one value per channel each")
        self.alpha, self.fold, self.prob, self.switch_prob = float(alpha), bool(fold), float(prob), float(switch_prob)
        self.cutmix_alpha, self.cutmix_minmax, self.correct_lam = float(cutmix_alpha), cutmix_minmax, bool(correct_lam)
        self.label_smoothing, self.num_classes, self.rank = float(label_smoothing), num_classes, int(rank)
        self.seed = secrets.randbits(64) if seed is None else int(seed)
        self.normalize, self.targets, self.checks = normalize, targets, checks
        self.graph_mode = bool(graph_mode)
        self.cpu_threads = _loss.get_num_threads() if cpu_threads is None else int(cpu_threads)
        self.device = _arrays.parse_device(device)
        self.last_draws = None  # (kind [N], box [N, 4]) of the last call made with draws=True
        self.last_perm = None  # partner of each sample in the last call
        self.last_lam = None  # λ of each sample in the last call (any targets mode)
        self._handle = None
        self._step = 0
        # torch >= 2.4: under torch.compile, calls go through the custom op mixup_cuda::mixup,
        # with the step in a tensor the op mutates (see ops.py), which eager calls share; graph
        # mode keeps its step on the device.
        self._step_t, self._step_view, self._key = None, None, None
        if not self.graph_mode:
            self._attach_ops()
        # Bad settings fail here, not at the first batch: a throwaway CPU handle checks them.
        self._make((("cpu", 0)), 1)

    def _attach_ops(self):
        ops = _arrays.torch_ops()
        if ops is not None and self._step_t is None:
            self._step_t, self._key = ops.step_tensor(self.step), ops.register(self)
            self._step_view = self._step_t.numpy()  # the same int64: eager calls sync it without dispatch
        return ops

    # The library checks labels against num_classes; without one, any label >= 0 is accepted.
    def _classes(self):
        return self.num_classes if self.num_classes is not None else 2**31 - 1

    def _make(self, device, batch):
        h = _C.Handle(backend=0 if device[0] == "cpu" else 1, device=device[1], alpha=self.alpha,
                      lambda_mode=self._lambda_mode, pairing=self._pairing, fold=self.fold, seed=self.seed,
                      rank_salt=self.rank, label_smoothing=self.label_smoothing, num_classes=self._classes(),
                      max_batch=max(int(batch), 1), deferred_checks=self.checks == "deferred",
                      graph_mode=self.graph_mode and device[0] == "cuda", cpu_threads=self.cpu_threads)
        lo, hi = self.cutmix_minmax if self.cutmix_minmax is not None else (0.0, 0.0)
        h.set_mixing(prob=self.prob, switch_prob=self.switch_prob, cutmix_alpha=self.cutmix_alpha, lo=float(lo),
                     hi=float(hi), correct_lam=self.correct_lam)
        if self.normalize is not None:
            mean, std = self.normalize
            h.set_normalize([float(v) for v in mean], [float(v) for v in std])
        return h

    def _handle_for(self, x, batch):
        dev = _arrays.device_of(x)
        want = self.device or dev
        if dev != want:
            raise ValueError(f"x is on {dev[0]}:{dev[1]} but this Mixup runs on {want[0]}:{want[1]}: move x there, "
                             f"or create the Mixup with device=None")
        if self._handle is None:
            self._handle = self._make(want, batch)
            self._handle.step = self._step
            self.device = want
        return self._handle

    @property
    def step(self):
        """The step the next call draws with (the same seed and step give the same draws)."""
        if self._step_t is not None:
            return int(self._step_view)
        return self._handle.step if self._handle is not None else self._step

    @step.setter
    def step(self, value):
        if self._handle is not None:
            self._handle.step = int(value)
        if self._step_t is not None:
            self._step_t.fill_(int(value))
        self._step = int(value)

    def poll_checks(self):
        """checks="deferred" on CUDA: raise the first device-side check that failed since the last poll."""
        if self._handle is not None:
            torch = sys.modules.get("torch")
            cuda = self.device[0] == "cuda" and torch is not None
            self._handle.poll_checks(int(torch.cuda.current_stream(self.device[1]).cuda_stream) if cuda else 0)

    def __call__(self, x, y=None, *, targets=None, out=None, out_dtype="float32", draws=False):
        targets = self.targets if targets is None else targets
        mode = _choice("targets", targets, _TARGETS)
        if y is None:
            mode = 0
        elif mode == 0:
            raise ValueError("targets='none' takes no y")
        ops = None if self.graph_mode else _arrays.torch_ops()
        if ops is not None and ops.wanted(x):  # under torch.compile: only traceable code from here
            if self._step_t is None:  # torch was imported after this Mixup was made
                self._attach_ops()
            return ops.mixup_call(self, x, y, mode, out, out_dtype, draws)
        if getattr(x, "ndim", 1) == 0:
            raise ValueError(_ZERO_D)
        if getattr(x, "requires_grad", False):
            raise ValueError(_REQUIRES_GRAD)
        n = int(x.shape[0])
        h = self._handle_for(x, n)
        if self._step_t is not None:  # the step tensor that compiled calls advance is the step of record
            h.step = int(self._step_view)
        stream = _arrays.current_stream(x, self.device)
        xdt = _arrays.dtype_name(x)
        if out is None:
            out = _arrays.empty_like(x, out_dtype if xdt == "uint8" else None)
        i32 = lambda: _arrays.empty(x, (n,), "int32")  # noqa: E731
        f32 = lambda *shape: _arrays.empty(x, shape, "float32")  # noqa: E731
        lam, perm = f32(n), i32()
        kw = {"lam": lam, "perm": perm}
        labels = None
        if mode in (1, 2):
            labels = _arrays.int32_labels(y, "y")
            kw["labels"] = labels
        if mode == 1:
            kw["y_a"], kw["y_b"] = i32(), i32()
        if mode == 3:
            kw["soft_in"] = y
        if mode in (2, 3):
            if self.num_classes is None:
                raise ValueError(f"targets={targets!r} needs Mixup(num_classes=...)")
            kw["soft_out"] = f32(n, self.num_classes)
        if draws:
            kw["kind"], kw["box"] = i32(), _arrays.empty(x, (n, 4), "int32")
        dl = _arrays.dl
        h.apply(dl(x), dl(out), mode=mode, stream=stream, **{k: dl(v) for k, v in kw.items()})
        if self._step_t is not None:
            self._step_view[()] = h.step
        self.last_perm, self.last_lam = perm, lam
        self.last_draws = (kw["kind"], kw["box"]) if draws else None
        if mode == 0:
            return out, lam
        if mode == 1:
            y_a, y_b = kw["y_a"], kw["y_b"]
            if labels is not y:  # hand them back in the caller's dtype (int64 for PyTorch's losses)
                y_a, y_b = _arrays.as_dtype(y_a, _arrays.dtype_name(y)), _arrays.as_dtype(y_b, _arrays.dtype_name(y))
            return out, y_a, y_b, lam
        return out, kw["soft_out"]

    def replay(self, x, lam, perm, y=None, *, out=None, out_dtype="float32"):
        """Mix with the caller's λ [N] and partners [N] (mixup_apply_given): stacked targets; no step advance."""
        n = int(x.shape[0])
        h = self._handle_for(x, n)
        if out is None:
            out = _arrays.empty_like(x, out_dtype if _arrays.dtype_name(x) == "uint8" else None)
        kw = {}
        if y is not None:
            kw = {"labels": _arrays.int32_labels(y, "y"), "y_a": _arrays.empty(x, (n,), "int32"),
                  "y_b": _arrays.empty(x, (n,), "int32")}
        h.apply(x, out, mode=1 if y is not None else 0, given_lam=lam, given_perm=_arrays.int32_labels(perm, "perm"),
                stream=_arrays.current_stream(x, self.device), **kw)
        return (out, kw["y_a"], kw["y_b"]) if y is not None else out
