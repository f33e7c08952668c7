"""The caller's framework, from the Python side: which device an array is on, its current
CUDA stream, and fresh arrays of the same framework for the outputs (the extension only ever
sees them through DLPack). torch is imported only if the caller already has."""
import sys

import numpy

_DL_CPU, _DL_CUDA, _DL_CUDA_MANAGED = 1, 2, 13


def _torch():
    return sys.modules.get("torch")


_ops = None  # mixup_cuda.ops where torch can register custom ops (>= 2.4), once resolved
_ops_resolved = False


def torch_ops():
    """mixup_cuda.ops where the caller's torch can register custom ops (>= 2.4), else None.
    Resolved once, the first time torch is already imported; after that two global reads (a
    bool, then a module or None), which torch.compile traces without a graph break."""
    global _ops, _ops_resolved
    if not _ops_resolved:
        if "torch" not in sys.modules:
            return None
        from . import ops

        _ops = ops if ops.ENABLED else None
        _ops_resolved = True
    return _ops


def is_torch(x):
    t = _torch()
    return t is not None and isinstance(x, t.Tensor)


def device_of(x):
    """("cpu", 0) or ("cuda", index) of any DLPack array."""
    if not hasattr(x, "__dlpack_device__"):
        raise TypeError(f"expected an array with __dlpack__ (torch.Tensor, numpy.ndarray, ...), got {type(x).__name__}")
    kind, index = x.__dlpack_device__()
    kind = int(kind)
    if kind == _DL_CPU:
        return ("cpu", 0)
    if kind in (_DL_CUDA, _DL_CUDA_MANAGED):
        return ("cuda", int(index))
    raise ValueError(f"arrays on DLPack device type {kind} are not supported: use the CPU or a CUDA device")


def parse_device(device):
    """None, "cpu", "cuda", "cuda:1" or a torch.device -> ("cpu", 0) / ("cuda", i) / None."""
    if device is None:
        return None
    s = str(device)
    if s == "cpu":
        return ("cpu", 0)
    if s == "cuda":
        return ("cuda", 0)
    if s.startswith("cuda:") and s[5:].isdigit():
        return ("cuda", int(s[5:]))
    raise ValueError(f"device={device!r}: use None (the input's device), 'cpu', 'cuda' or 'cuda:N'")


def current_stream(x, device):
    """The framework's current CUDA stream as an integer (0: the legacy default), or None on the CPU."""
    if device[0] != "cuda":
        return None
    t = _torch()
    if is_torch(x):
        return int(t.cuda.current_stream(x.device).cuda_stream)
    cupy = sys.modules.get("cupy")
    if cupy is not None and isinstance(x, cupy.ndarray):
        return int(cupy.cuda.get_current_stream().ptr)
    return 0


def empty(like, shape, dtype):
    """An uninitialised array of `like`'s framework and device."""
    if is_torch(like):
        t = _torch()
        return t.empty(shape, dtype=getattr(t, dtype), device=like.device)
    cupy = sys.modules.get("cupy")
    if cupy is not None and isinstance(like, cupy.ndarray):
        return cupy.empty(shape, dtype=dtype)
    if device_of(like)[0] != "cpu":
        raise TypeError(f"cannot allocate outputs for a {type(like).__name__} on a GPU: pass out=")
    if dtype == "bfloat16":
        raise TypeError("NumPy has no bfloat16: pass float32 or float16 arrays")
    return numpy.empty(shape, dtype=dtype)


def empty_like(x, dtype=None):
    """Same shape and memory format as x (torch keeps channels-last)."""
    if is_torch(x):
        t = _torch()
        return t.empty_like(x, dtype=None if dtype is None else getattr(t, dtype))
    return empty(x, tuple(x.shape), dtype or str(x.dtype))


def dl(x):
    """What the extension is handed: a torch tensor's DLPack capsule straight from
    torch.utils.dlpack.to_dlpack (Tensor.__dlpack__ adds microseconds of Python-side checks
    that the extension repeats), anything else as it is."""
    if is_torch(x):
        return _torch().utils.dlpack.to_dlpack(x)
    return x


def dtype_name(x):
    if is_torch(x):
        return str(x.dtype).replace("torch.", "")
    return str(x.dtype)


def int32_labels(y, what):
    """Class indices as int32 (the C ABI's type). int64 (PyTorch's default) is converted — a
    copy of N integers — after checking every value fits, so no label wraps into range."""
    name = dtype_name(y)
    if name == "int32":
        return y
    if name not in ("int64", "int16", "int8", "uint8"):
        raise TypeError(f"{what} has dtype {name}; it must hold integer class indices (int32 or int64)")
    if is_torch(y):
        t = _torch()
        # checked on the CPU only: on a GPU the check would synchronise the device
        if name == "int64" and y.numel() and y.device.type == "cpu" and (int(y.min()) < -(2**31) or int(y.max()) >= 2**31):
            raise ValueError(f"{what} holds a value outside int32; class indices must be below 2^31")
        return y.to(t.int32)
    y = numpy.asarray(y)
    if name == "int64" and y.size and (int(y.min()) < -(2**31) or int(y.max()) >= 2**31):
        raise ValueError(f"{what} holds a value outside int32; class indices must be below 2^31")
    return y.astype(numpy.int32)


def as_dtype(y, name):
    """y converted to dtype `name` of its framework (used to hand labels back as int64)."""
    if is_torch(y):
        return y.to(getattr(_torch(), name))
    return y.astype(name)
