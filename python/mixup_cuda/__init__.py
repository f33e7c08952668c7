"""mixup_cuda: libmixup_cuda's fused mixup / CutMix and mixup loss for PyTorch, NumPy and any
DLPack framework. The extension links libmixup_cuda.so.0 only (no libtorch), so one build
works with any PyTorch; arrays pass through DLPack with no copy, and outputs are allocated by
the caller's framework.

    import mixup_cuda
    mix = mixup_cuda.Mixup(0.4)                       # fastai's defaults
    x, y_a, y_b, lam = mix(x, y)                      # torch in, torch out
    loss = mixup_cuda.cross_entropy(model(x), y_a, y_b, lam)
    loss.backward()                                   # the gradient came from the same pass

timm users: ``mixup_cuda.timm.Mixup`` (import mixup_cuda.timm).
"""
from . import _C, _arrays
from ._C import Error, InvalidValue, NotSupported
from .loss import (cross_entropy, cross_entropy_with_grad, get_checks, get_num_threads, poll_checks, set_checks,
                   set_num_threads, soft_cross_entropy)
from .mixup import Mixup

__version__ = _C.version()

# torch already imported (and >= 2.4): register the custom ops now, so torch.ops.mixup_cuda.*
# exist from `import mixup_cuda` on. Otherwise they are registered at the first torch call.
_arrays.torch_ops()


def library_path():
    """The libmixup_cuda.so.0 this package loaded."""
    return _C.library_path()


def cpu_isa():
    """The CPU backend's instruction-set level ("baseline", "avx2", "avx512"; MIXUP_CPU_ISA caps it)."""
    return _C.cpu_isa()


def cuda_device_count():
    """CUDA devices the library can use (0 without a GPU or driver)."""
    return _C.cuda_device_count()


__all__ = ["Mixup", "cross_entropy", "soft_cross_entropy", "cross_entropy_with_grad", "Error", "InvalidValue",
           "NotSupported", "library_path", "cpu_isa", "cuda_device_count", "set_num_threads", "get_num_threads",
           "set_checks", "get_checks", "poll_checks"]
