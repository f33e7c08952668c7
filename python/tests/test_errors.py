"""Every bad input raises an exception that names the argument and the fix, and leaves the
caller's outputs untouched (they hold a sentinel before and after)."""
import numpy as np
import pytest
import torch

import mixup_cuda

SENTINEL = -7.0


def fresh_out(shape=(6, 3, 4, 4)):
    return torch.full(shape, SENTINEL)


def untouched(t):
    return bool((t == SENTINEL).all())


X = torch.randn(6, 3, 4, 4)
Y = torch.tensor([0, 1, 2, 3, 4, 0])


@pytest.mark.parametrize("x, error, words", [
    (X.double(), TypeError, ["x", "float64", "float32"]),
    (X.int(), TypeError, ["x", "int32"]),
    (X[:, :, :, ::2], ValueError, ["x", "not contiguous", ".contiguous()"]),
    (X.transpose(0, 1), ValueError, ["x", "not contiguous"]),
    (torch.tensor(1.0), ValueError, ["0-d"]),
    (X.reshape(6, 3, 2, 2, 4), ValueError, ["x", "[N, C, H, W]"]),
])
def test_bad_x(x, error, words):
    out = fresh_out(x.shape if x.ndim else ())
    m = mixup_cuda.Mixup(seed=1, num_classes=5)
    with pytest.raises(error) as e:
        m(x, Y, out=out)
    for w in words:
        assert w in str(e.value), str(e.value)
    assert untouched(out)
    assert m.step == 0  # a refused call draws nothing


@pytest.mark.parametrize("y, error, words", [
    (torch.tensor([0, 1, 2, 3, 5, 0]), ValueError, ["label 5", "sample 4", "num_classes = 5"]),
    (torch.tensor([0, 1, 2, 3, -1, 0]), ValueError, ["label -1"]),
    (torch.tensor([0, 1, 2]), ValueError, ["labels", "[6]"]),
    (torch.zeros(6, 2, dtype=torch.long), ValueError, ["labels", "[6]"]),
    (torch.zeros(6), TypeError, ["y", "float32", "integer"]),
    (torch.tensor([0, 1, 2, 3, 2**33, 0]), ValueError, ["int32"]),
])
def test_bad_labels(y, error, words):
    out = fresh_out()
    m = mixup_cuda.Mixup(seed=1, num_classes=5)
    with pytest.raises(error) as e:
        m(X, y, out=out)
    for w in words:
        assert w in str(e.value), str(e.value)
    assert untouched(out)


def test_labels_out_of_range_are_a_library_invalid_value():
    with pytest.raises(mixup_cuda.InvalidValue, match="INVALID_VALUE"):
        mixup_cuda.Mixup(seed=1, num_classes=5)(X, Y + 1)
    assert issubclass(mixup_cuda.InvalidValue, ValueError) and issubclass(mixup_cuda.InvalidValue, mixup_cuda.Error)


def test_wrong_device_names_both_devices():
    out = fresh_out()
    m = mixup_cuda.Mixup(seed=1, device="cuda")
    with pytest.raises(ValueError, match="x is on cpu:0 but this Mixup runs on cuda:0"):
        m(X, out=out)
    assert untouched(out)
    # the extension's own check, for arrays handed to a handle of another device
    h = mixup_cuda._C.Handle(backend=1, device=0, alpha=0.4, lambda_mode=0, pairing=0, fold=True, seed=1,
                             rank_salt=0, label_smoothing=0.0, num_classes=0, max_batch=1) \
        if mixup_cuda.cuda_device_count() else None
    if h is not None:
        with pytest.raises(ValueError, match="is on cpu"):
            h.apply(X, out, mode=0)


def test_bad_out():
    m = mixup_cuda.Mixup(seed=1)
    for out, words in [(torch.full((6, 3, 4, 5), SENTINEL), ["out", "shape"]),
                       (torch.full((6, 3, 4, 4), SENTINEL).double(), ["out", "float64"]),
                       (torch.full((6, 3, 8, 4), SENTINEL)[:, :, ::2], ["out", "contiguous"])]:
        before = out.clone()
        with pytest.raises((ValueError, TypeError)) as e:
            m(X, out=out)
        assert all(w in str(e.value) for w in words), str(e.value)
        assert torch.equal(out, before)
    with pytest.raises(ValueError, match="INVOLUTION"):
        m(X, out=X)  # in place needs the involution pairing


def test_not_an_array():
    with pytest.raises(TypeError, match="__dlpack__"):
        mixup_cuda.Mixup(seed=1)._make(("cpu", 0), 2).apply([1.0, 2.0], np.zeros(2, np.float32), mode=0)


@pytest.mark.parametrize("kw, words", [
    (dict(alpha=0.0), ["alpha", "> 0"]),
    (dict(alpha=float("nan")), ["alpha"]),
    (dict(lambda_mode="elem"), ["lambda_mode", "'sample'"]),
    (dict(pairing="roll"), ["pairing"]),
    (dict(prob=1.5), ["prob", "[0, 1]"]),
    (dict(cutmix_minmax=(0.6, 0.2)), ["cutmix_minmax"]),
    (dict(label_smoothing=1.0), ["label_smoothing"]),
    (dict(num_classes=0), ["num_classes"]),
    (dict(normalize=((0.5,), (0.0,))), ["std"]),
])
def test_bad_settings_fail_at_construction(kw, words):
    with pytest.raises(ValueError) as e:
        mixup_cuda.Mixup(**kw)
    assert all(w in str(e.value) for w in words), str(e.value)


Z = torch.randn(6, 5)


@pytest.mark.parametrize("args, kw, error, words", [
    ((Z.double(), Y), {}, TypeError, ["logits", "float64"]),
    ((Z[:, ::2], Y), {}, ValueError, ["logits", "contiguous"]),
    ((Z[0], Y), {}, ValueError, ["logits", "[batch, classes]"]),
    ((torch.tensor(0.5), Y), {}, ValueError, ["logits", "[batch, classes]"]),
    ((Z.reshape(6, 5, 1), Y), {}, ValueError, ["logits", "[batch, classes]"]),
    ((Z, torch.tensor([0, 1, 2, 3, 5, 0])), {}, ValueError, ["label 5", "sample 4"]),
    ((Z, Y[:4]), {}, ValueError, ["y_a", "[6]"]),
    ((Z, Y, Y), {}, ValueError, ["y_b and lam"]),
    ((Z, Y, Y, torch.ones(5)), {}, ValueError, ["lam", "6"]),
    ((Z, Y, Y, torch.ones(6).double()), {}, TypeError, ["lam", "float64"]),
    ((Z, Y, Y, torch.full((6,), 1.5)), {}, ValueError, ["lam", "[0, 1]"]),
    ((Z, Y), dict(reduction="avg"), ValueError, ["reduction", "'mean'"]),
    ((Z, Y), dict(label_smoothing=-0.1), ValueError, ["label_smoothing"]),
])
def test_bad_loss_inputs(args, kw, error, words):
    logits = args[0].detach().requires_grad_() if args[0].is_floating_point() and args[0].ndim else args[0]
    with pytest.raises(error) as e:
        mixup_cuda.cross_entropy(logits, *args[1:], **kw)
    assert all(w in str(e.value) for w in words), str(e.value)
    if getattr(logits, "grad", None) is not None:
        pytest.fail("a refused loss produced a gradient")


def test_loss_writes_nothing_on_failure():
    from mixup_cuda.loss import _loss_handle
    z = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    loss, grad = np.full(4, SENTINEL, np.float32), np.full((4, 3), SENTINEL, np.float32)
    bad = np.array([0, 1, 3, 0], np.int32)  # 3 is outside [0, 3)
    with pytest.raises(mixup_cuda.InvalidValue):
        _loss_handle(("cpu", 0), 4).cross_entropy(z, loss, y_a=bad, grad=grad, reduction=0)
    assert (loss == SENTINEL).all() and (grad == SENTINEL).all()


def test_loss_checks_setting():
    """set_checks: a bad mode is refused by name; on the CPU a deferred loss still refuses a bad
    label at the call (CPU checks are immediate), and poll_checks has nothing to report."""
    with pytest.raises(ValueError, match="set_checks\\('later'\\).*'deferred'"):
        mixup_cuda.set_checks("later")
    assert mixup_cuda.get_checks() == "sync"
    mixup_cuda.set_checks("deferred")
    try:
        assert mixup_cuda.get_checks() == "deferred"
        with pytest.raises(ValueError, match="label 5"):
            mixup_cuda.cross_entropy(Z, torch.tensor([0, 1, 2, 3, 5, 0]))
        assert torch.isfinite(mixup_cuda.cross_entropy(Z, Y))
        assert mixup_cuda.poll_checks() is None
    finally:
        mixup_cuda.set_checks("sync")
