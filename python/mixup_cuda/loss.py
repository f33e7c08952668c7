"""mixup_cuda.cross_entropy: fastai's MixUpLoss, λ·CE(z, y_a) + (1 − λ)·CE(z, y_b), fused.

One pass over the logits gives the loss and its gradient; under PyTorch autograd the
gradient is kept from the forward and scaled by grad_output in backward (Liger's "gradient
computed in forward"), so backward reads nothing but that gradient."""
import threading

from . import _C, _arrays

_REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}
_local = threading.local()  # one loss handle per thread and device (a handle is not thread-safe)
_cpu_threads = 0
_checks = "sync"
_CHECKS = ("sync", "deferred")


def set_checks(mode):
    """How the loss's CUDA calls check labels, for handles created from now on (per thread):
    "sync" (the default) reads the device-side verdict back after every call — a stream
    synchronisation, and a bad label raises at once; "deferred" adds no synchronisation (what
    a training step or a CUDA graph wants): a failed call still writes nothing, and
    poll_checks() raises its error later. On the CPU checks are always immediate."""
    global _checks
    if mode not in _CHECKS:
        raise ValueError(f"set_checks({mode!r}): choose 'sync' or 'deferred'")
    _checks = mode


def get_checks():
    return _checks


def poll_checks():
    """Raises the first device-side check that failed since the last poll in any of this
    thread's loss calls made with checks "deferred" (waiting for each device's current stream);
    returns None when all passed."""
    for (device, _, checks), h in list(getattr(_local, "handles", {}).items()):
        if checks != "deferred" or device[0] != "cuda":
            continue
        import torch

        h.poll_checks(int(torch.cuda.current_stream(device[1]).cuda_stream))


def set_num_threads(n):
    """Threads the CPU backend uses for handles created from now on (0: all hardware threads,
    the default); e.g. torch.get_num_threads() to give both libraries the same cores."""
    global _cpu_threads
    if int(n) < 0:
        raise ValueError(f"set_num_threads({n}): must be >= 0")
    _cpu_threads = int(n)


def get_num_threads():
    return _cpu_threads


def _loss_handle(device, batch):
    handles = getattr(_local, "handles", None)
    if handles is None:
        handles = _local.handles = {}
    key = (device, _cpu_threads, _checks)
    h = handles.get(key)
    if h is None:
        h = handles[key] = _C.Loss(backend=0 if device[0] == "cpu" else 1, device=device[1],
                                   max_batch=max(int(batch), 1), deferred_checks=_checks == "deferred",
                                   cpu_threads=_cpu_threads)
    return h


def _per_sample_lam(lam, like, n):
    """λ as a float32 [N] array of like's framework: a Python number is one λ for the batch."""
    if lam is None:
        return None
    if isinstance(lam, (int, float)):
        out = _arrays.empty(like, (n,), "float32")
        out[...] = float(lam)
        return out
    if _arrays.dtype_name(lam) != "float32":
        raise TypeError(f"lam has dtype {_arrays.dtype_name(lam)}; it must be float32 (or a Python float)")
    return lam


def _run(logits, y_a, y_b, lam, soft, label_smoothing, reduction, ignore_index, want_grad):
    red = _REDUCTIONS.get(reduction)
    if red is None:
        raise ValueError(f"reduction={reduction!r}: choose 'none', 'mean' or 'sum'")
    if getattr(logits, "ndim", 0) != 2:
        raise ValueError(f"logits has shape {tuple(getattr(logits, 'shape', ()))}; it must be [batch, classes]")
    n = int(logits.shape[0])
    device = _arrays.device_of(logits)
    if _arrays.is_torch(logits):
        logits = logits.detach()  # DLPack refuses tensors that require grad; autograd is handled above
    loss = _arrays.empty(logits, (n,) if red == 0 else (), "float32")
    grad = _arrays.empty_like(logits) if want_grad else None
    kw = {}
    if soft is not None:
        kw["soft"] = soft
    else:
        kw["y_a"] = _arrays.int32_labels(y_a, "y_a")
        if (y_b is None) != (lam is None):
            raise ValueError("y_b and lam go together: give both (mixed batch) or neither (plain cross-entropy)")
        if y_b is not None:
            kw["y_b"] = _arrays.int32_labels(y_b, "y_b")
            kw["lam"] = _per_sample_lam(lam, logits, n)
    dl = _arrays.dl
    _loss_handle(device, n).cross_entropy(dl(logits), dl(loss), grad=None if grad is None else dl(grad),
                                          label_smoothing=float(label_smoothing), ignore_index=int(ignore_index),
                                          reduction=red, stream=_arrays.current_stream(logits, device),
                                          **{k: dl(v) for k, v in kw.items()})
    return loss, grad


def _autograd_function():
    import torch

    class MixupCrossEntropy(torch.autograd.Function):
        @staticmethod
        def forward(ctx, logits, y_a, y_b, lam, soft, label_smoothing, reduction, ignore_index):
            loss, grad = _run(logits, y_a, y_b, lam, soft, label_smoothing, reduction, ignore_index, True)
            ctx.save_for_backward(grad)
            ctx.per_row = reduction == "none"
            return loss

        @staticmethod
        def backward(ctx, grad_output):
            (grad,) = ctx.saved_tensors
            g = grad_output.to(grad.dtype)
            return (grad * (g.unsqueeze(1) if ctx.per_row else g), None, None, None, None, None, None, None)

    return MixupCrossEntropy


_function = None


def cross_entropy(logits, y_a, y_b=None, lam=None, *, label_smoothing=0.0, reduction="mean", ignore_index=-100):
    """λ·CE(logits, y_a) + (1 − λ)·CE(logits, y_b) per row, reduced; plain CE without y_b / lam.

    logits [N, C] float32/float16/bfloat16; y_a, y_b class indices [N] (int32 or int64);
    lam float32 [N] or a Python float. Returns a float32 array of logits' framework: [N] for
    reduction="none", 0-d otherwise. A torch tensor that requires grad gets its gradient.
    Rows whose y_a is ignore_index count for nothing (and not in the mean)."""
    ops = _arrays.torch_ops()
    if ops is not None and ops.wanted(logits):  # under torch.compile: the custom op mixup_cuda::cross_entropy
        return ops.loss_call(logits, y_a, y_b, lam, None, label_smoothing, reduction, ignore_index)
    return _fallback(logits, y_a, y_b, lam, None, label_smoothing, reduction, ignore_index)


def _fallback(logits, y_a, y_b, lam, soft, label_smoothing, reduction, ignore_index):
    """Older torch, and every other framework: the autograd.Function, or the plain call."""
    global _function
    if _arrays.is_torch(logits):
        import torch

        if torch.is_grad_enabled() and logits.requires_grad:
            if _function is None:
                _function = _autograd_function()
            return _function.apply(logits, y_a, y_b, lam, soft, label_smoothing, reduction, ignore_index)
    return _run(logits, y_a, y_b, lam, soft, label_smoothing, reduction, ignore_index, False)[0]


def soft_cross_entropy(logits, targets, *, label_smoothing=0.0, reduction="mean"):
    """Σ_j −t_j·log softmax(z)_j per row (targets [N, C] float32, e.g. Mixup(targets="onehot")), reduced."""
    ops = _arrays.torch_ops()
    if ops is not None and ops.wanted(logits):
        return ops.loss_call(logits, None, None, None, targets, label_smoothing, reduction, -100)
    return _fallback(logits, None, None, None, targets, label_smoothing, reduction, -100)


def cross_entropy_with_grad(logits, y_a, y_b=None, lam=None, *, label_smoothing=0.0, reduction="mean",
                            ignore_index=-100):
    """(loss, dloss/dlogits) in one pass, for frameworks without autograd here (NumPy, a hand loop)."""
    return _run(logits, y_a, y_b, lam, None, label_smoothing, reduction, ignore_index, True)


__all__ = ["cross_entropy", "soft_cross_entropy", "cross_entropy_with_grad", "set_num_threads", "get_num_threads",
           "set_checks", "get_checks", "poll_checks"]
