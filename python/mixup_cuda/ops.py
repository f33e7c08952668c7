"""The fused op and loss as ``torch.library`` custom ops (torch >= 2.4), so that
``torch.compile(fullgraph=True)`` keeps them in its graph instead of breaking it at the DLPack
call: ``torch.ops.mixup_cuda.mixup`` and ``torch.ops.mixup_cuda.cross_entropy``, each with a
fake (meta) implementation that gives the outputs' shapes and dtypes without data, and the
loss with its backward registered (the gradient saved by the forward, scaled by grad_output).

``Mixup.__call__`` and ``cross_entropy`` take this path by themselves for torch tensors under
torch.compile (``torch.compiler.is_compiling()``, which Dynamo reads as a constant) when the
caller's torch has ``torch.library.custom_op``. Eager calls keep the direct path — the same
library call with the same results (tested bit for bit), without the dispatcher's per-call
cost (bench/python/bench_gpu.py reports both) — and so does older torch (Debian's 1.13), with
the ``autograd.Function`` of loss.py. This module is imported only once torch is (mixup_cuda
never imports torch itself), and imports on any torch: the implementations below are plain
functions, registered only where the API exists.

The op's state, and why it is an input: the draws are a function of (seed, rank, step) and the
batch. The step advances by one per call, so a call is not a pure function of its tensors;
an op declared pure could be deduplicated (two calls on the same x giving the same draws),
reordered or dropped by the compiler. The step is therefore a CPU int64 0-d tensor owned by
the Mixup (``Mixup._step_t``), passed to the op and declared mutated (``mutates_args``): the
compiler must keep every call, in program order (each reads the step the previous one
wrote), and cannot drop one whose outputs go unused. A Python int would not do: torch.compile
would bake it into the graph as a constant and recompile at every step. The step tensor
lives on the CPU so reading it costs no device synchronisation; the library handle itself is
found through ``key`` (the Mixup's number in a weak registry), whose configuration is fixed
at construction, so (x, labels, step, key) determine the outputs.

Not covered: a ``Mixup(graph_mode=True)`` keeps the direct path (its step lives on the device,
for ``torch.cuda.graph`` capture), so under torch.compile it breaks the graph; and
``mode="reduce-overhead"`` (CUDA graphs inside torch.compile) is not tested — the step is read
on the host at every call, which a replayed graph would not do.
"""
import itertools
import typing
import warnings
import weakref

import torch
from torch import Tensor

from . import _arrays, _C
from . import loss as _loss
from . import mixup as _mixup_module

Opt = typing.Optional

_REDUCTION_NAMES = {v: k for k, v in _loss._REDUCTIONS.items()}


def _version(v):
    """(major, minor) of a torch version string ("2.11.0+cu128", "1.13.0a0")."""
    parts = []
    for p in v.split("+")[0].split(".")[:2]:
        digits = "".join(itertools.takewhile(str.isdigit, p))
        parts.append(int(digits or 0))
    return tuple(parts)


def supported(torch_module=torch):
    """True where torch has the custom-op API this module registers with (torch >= 2.4)."""
    lib = getattr(torch_module, "library", None)
    return (_version(torch_module.__version__) >= (2, 4) and hasattr(lib, "custom_op")
            and hasattr(lib, "register_fake") and hasattr(lib, "opcheck")
            and hasattr(getattr(torch_module, "compiler", None), "is_compiling"))


# --- the Mixup registry: the op finds its library handle by key ---------------------------

_mixups = weakref.WeakValueDictionary()
_keys = itertools.count(1)


def register(mixup):
    """A key for `mixup` (never reused); the registry holds it weakly."""
    key = next(_keys)
    _mixups[key] = mixup
    return key


def step_tensor(step):
    return torch.tensor(int(step), dtype=torch.int64)


# --- mixup_cuda::mixup ---------------------------------------------------------------------
# Outputs, in order: lam [N] f32, perm [N] i32, y_a / y_b ([N] in the labels' dtype, for
# targets="stacked"), soft [N, num_classes] f32 (targets "onehot" / "soft"), kind [N] i32 and
# box [N, 4] i32 (draws=True). An output the call does not produce is an empty [0] tensor of
# the same dtype (a custom op cannot return None). One table serves the real and the fake
# implementation, so their shapes and dtypes cannot drift apart.


def _mixup_outputs(x, labels, mode, num_classes, draws):
    n = x.shape[0]
    ydt = labels.dtype if labels is not None else torch.int64
    f32, i32 = torch.float32, torch.int32
    return [((n,), f32), ((n,), i32), ((n,) if mode == 1 else (0,), ydt), ((n,) if mode == 1 else (0,), ydt),
            ((n, num_classes) if mode in (2, 3) else (0,), f32), ((n,) if draws else (0,), i32),
            ((n, 4) if draws else (0,), i32)]


def mixup_impl(x: Tensor, out: Tensor, labels: Opt[Tensor], soft_in: Opt[Tensor], step: Tensor, key: int, mode: int,
               num_classes: int, draws: bool) -> typing.Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """One library call on the Mixup registered as `key`, at step `step` (advanced on success)."""
    m = _mixups.get(key)
    if m is None:
        raise ValueError(f"mixup_cuda::mixup: no live Mixup has key {key}")
    h = m._handle_for(x, int(x.shape[0]))
    outs = [torch.empty(s, dtype=d, device=x.device) for s, d in _mixup_outputs(x, labels, mode, num_classes, draws)]
    kw = {"lam": outs[0], "perm": outs[1]}
    if mode in (1, 2):
        kw["labels"] = _arrays.int32_labels(labels, "y")
    if mode == 1:
        wide = labels.dtype != torch.int32  # the library writes int32; handed back in the labels' dtype
        kw["y_a"] = torch.empty(outs[2].shape, dtype=torch.int32, device=x.device) if wide else outs[2]
        kw["y_b"] = torch.empty(outs[3].shape, dtype=torch.int32, device=x.device) if wide else outs[3]
    if mode == 3:
        kw["soft_in"] = soft_in
    if mode in (2, 3):
        kw["soft_out"] = outs[4]
    if draws:
        kw["kind"], kw["box"] = outs[5], outs[6]
    h.step = int(step)
    dl = _arrays.dl
    h.apply(dl(x), dl(out), mode=mode, stream=_arrays.current_stream(x, m.device),
            **{k: dl(v) for k, v in kw.items()})
    step.fill_(h.step)  # only reached on success: a failed call leaves the step where it was
    if mode == 1 and labels.dtype != torch.int32:
        outs[2], outs[3] = kw["y_a"].to(labels.dtype), kw["y_b"].to(labels.dtype)
    return tuple(outs)


def mixup_fake(x, out, labels, soft_in, step, key, mode, num_classes, draws):
    return tuple(x.new_empty(s, dtype=d) for s, d in _mixup_outputs(x, labels, mode, num_classes, draws))


def mixup_call(m, x, y, mode, out, out_dtype, draws):
    """Mixup.__call__ for torch tensors through the custom op. Only traceable code here (no
    DLPack, no library call): torch.compile follows it into the op without a graph break."""
    if x.dim() == 0:
        raise ValueError(_mixup_module._ZERO_D)
    if x.requires_grad:
        raise ValueError(_mixup_module._REQUIRES_GRAD)
    if mode in (2, 3) and m.num_classes is None:
        raise ValueError(f"targets={'onehot' if mode == 2 else 'soft'!r} needs Mixup(num_classes=...)")
    if out is None:
        out = torch.empty_like(x, dtype=getattr(torch, out_dtype) if x.dtype == torch.uint8 else None)
    elif out is x and m._pairing != 1:
        # Compiled, the op writes a copy of `out` and the library would never see the alias it
        # refuses in eager mode: refuse it here with the library's reason.
        raise _C.InvalidValue("out aliases x: in place needs pairing='involution'")
    labels = y if mode in (1, 2) else None
    soft_in = y if mode == 3 else None
    lam, perm, y_a, y_b, soft, kind, box = _mixup_op(x, out, labels, soft_in, m._step_t, m._key, mode,
                                                     m.num_classes or 0, draws)
    m.last_perm, m.last_lam = perm, lam
    m.last_draws = (kind, box) if draws else None
    if mode == 0:
        return out, lam
    if mode == 1:
        return out, y_a, y_b, lam
    return out, soft


# --- mixup_cuda::cross_entropy -------------------------------------------------------------
# Functional (it mutates nothing: the loss handle's scratch is not state), so it may be
# deduplicated or reordered like any pure op. Outputs: the loss ([N] for reduction "none",
# 0-d otherwise, f32) and dloss/dlogits (logits' shape and dtype; an empty [0] tensor when
# want_grad is false), both from one pass; backward scales the saved gradient.


def _loss_outputs(logits, reduction, want_grad):
    return [((logits.shape[0],) if reduction == 0 else (), torch.float32),
            (logits.shape if want_grad else (0,), logits.dtype)]


def cross_entropy_impl(logits: Tensor, y_a: Opt[Tensor], y_b: Opt[Tensor], lam: Opt[Tensor], soft: Opt[Tensor],
                       label_smoothing: float, reduction: int, ignore_index: int,
                       want_grad: bool) -> typing.Tuple[Tensor, Tensor]:
    loss, grad = _loss._run(logits, y_a, y_b, lam, soft, label_smoothing, _REDUCTION_NAMES[reduction], ignore_index,
                            want_grad)
    return loss, grad if grad is not None else logits.new_empty((0,))


def cross_entropy_fake(logits, y_a, y_b, lam, soft, label_smoothing, reduction, ignore_index, want_grad):
    (ls, ld), (gs, gd) = _loss_outputs(logits, reduction, want_grad)
    return logits.new_empty(ls, dtype=ld), (torch.empty_like(logits) if want_grad else logits.new_empty(gs, dtype=gd))


def cross_entropy_setup_context(ctx, inputs, output):
    _, grad = output
    ctx.per_row = inputs[6] == 0  # reduction "none": one grad_output per row
    ctx.save_for_backward(grad)
    ctx.mark_non_differentiable(grad)
    ctx.set_materialize_grads(False)  # no zero-filled [N, C] for the gradient output nobody differentiates


def cross_entropy_backward(ctx, grad_loss, grad_grad):
    (grad,) = ctx.saved_tensors
    if grad_loss is None:
        return (None,) * 9
    g = grad_loss.to(grad.dtype)
    return (grad * (g.unsqueeze(1) if ctx.per_row else g),) + (None,) * 8


def loss_call(logits, y_a, y_b, lam, soft, label_smoothing, reduction, ignore_index):
    """cross_entropy / soft_cross_entropy for torch tensors through the custom op (traceable)."""
    red = _loss._REDUCTIONS.get(reduction)
    if red is None:
        raise ValueError(f"reduction={reduction!r}: choose 'none', 'mean' or 'sum'")
    if logits.dim() != 2:
        raise ValueError(f"logits has shape {tuple(logits.shape)}; it must be [batch, classes]")
    if isinstance(lam, (int, float)):
        lam = torch.full((logits.shape[0],), float(lam), dtype=torch.float32, device=logits.device)
    want_grad = torch.is_grad_enabled() and logits.requires_grad
    loss, _ = _loss_op(logits, y_a, y_b, lam, soft, float(label_smoothing), red, int(ignore_index), want_grad)
    return loss


# --- registration ---------------------------------------------------------------------------

def _register():
    d = torch.library.custom_op("mixup_cuda::mixup", mutates_args=("out", "step"))(mixup_impl)
    d.register_fake(mixup_fake)
    d = torch.library.custom_op("mixup_cuda::cross_entropy", mutates_args=())(cross_entropy_impl)
    d.register_fake(cross_entropy_fake)
    d.register_autograd(cross_entropy_backward, setup_context=cross_entropy_setup_context)
    # The OpOverloads themselves: what torch.compile records, and the cheapest to call.
    return torch.ops.mixup_cuda.mixup.default, torch.ops.mixup_cuda.cross_entropy.default


ENABLED = supported()
REGISTRATION_ERROR = None  # why a torch that has the API refused the registration (a test asserts None)
_mixup_op = _loss_op = None
if ENABLED:
    try:
        _mixup_op, _loss_op = _register()
    except Exception as e:  # a torch whose API changed: keep the eager package working, say why
        ENABLED, REGISTRATION_ERROR = False, f"{type(e).__name__}: {e}"
        warnings.warn(f"mixup_cuda: custom ops not registered with torch {torch.__version__} ({REGISTRATION_ERROR}); "
                      "eager calls are unaffected, torch.compile breaks its graph at mixup_cuda calls")


def wanted(x):
    """The custom-op path for this call: a torch tensor, under torch.compile (where the direct
    DLPack call would break the graph)."""
    return isinstance(x, torch.Tensor) and torch.compiler.is_compiling()


__all__ = ["ENABLED", "supported", "mixup_impl", "mixup_fake", "cross_entropy_impl", "cross_entropy_fake"]
