"""The loss and its autograd gradient against eager PyTorch in float64:
λ·CE(z, y_a) + (1 − λ)·CE(z, y_b), with label smoothing, ignore_index and every reduction."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mixup_cuda


def reference(z, y_a, y_b, lam, eps, reduction, ignore_index):
    """Eager float64 PyTorch. An ignored y_a drops the row (and from the mean's count); an
    ignored y_b drops its term — F.cross_entropy's own per-row ignore_index rule, applied
    to each term."""
    z = z.double()
    l_a = F.cross_entropy(z, y_a.long(), reduction="none", label_smoothing=eps, ignore_index=ignore_index)
    if y_b is None:
        rows = l_a
    else:
        l_b = F.cross_entropy(z, y_b.long(), reduction="none", label_smoothing=eps, ignore_index=ignore_index)
        kept = (y_a != ignore_index).double()
        rows = lam.double() * l_a + (1 - lam.double()) * l_b * kept
    if reduction == "none":
        return rows
    if reduction == "sum":
        return rows.sum()
    return rows.sum() / (y_a != ignore_index).sum().clamp(min=1)


def case(b, c, seed, ignore=0, same=False):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(b, c, generator=g) * 4
    y_a = torch.randint(0, c, (b,), generator=g)
    y_b = y_a.clone() if same else torch.randint(0, c, (b,), generator=g)
    y_a[:ignore] = -100
    if b > 2 and ignore:
        y_b[-1] = -100
    lam = torch.rand(b, generator=g)
    return z, y_a, y_b, lam


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("eps", [0.0, 0.1])
@pytest.mark.parametrize("b, c, ignore", [(1, 1, 0), (7, 3, 0), (65, 10, 2), (9, 1001, 1)])
def test_loss_and_gradient_match_eager_float64(reduction, eps, b, c, ignore):
    z, y_a, y_b, lam = case(b, c, seed=b * 1000 + c, ignore=ignore)
    zt = z.clone().requires_grad_()
    loss = mixup_cuda.cross_entropy(zt, y_a, y_b, lam, label_smoothing=eps, reduction=reduction)
    zr = z.double().requires_grad_()
    want = reference(zr, y_a, y_b, lam, eps, reduction, -100)
    assert loss.dtype == torch.float32 and loss.shape == want.shape
    torch.testing.assert_close(loss.double(), want.detach(), rtol=2e-6, atol=2e-6)
    # grad_output: per-row weights for "none", a scale otherwise — backward must use it
    go = torch.linspace(-1.5, 2.0, b, dtype=torch.float64) if reduction == "none" else torch.tensor(0.75, dtype=torch.float64)
    loss.backward(go.float())
    want.backward(go)
    torch.testing.assert_close(zt.grad.double(), zr.grad, rtol=1e-5, atol=1e-6)


def test_y_a_equal_y_b_and_plain_ce():
    z, y_a, _, lam = case(33, 12, seed=5, same=True)
    torch.testing.assert_close(mixup_cuda.cross_entropy(z, y_a, y_a, lam).double(),
                               F.cross_entropy(z.double(), y_a), rtol=2e-6, atol=2e-6)
    torch.testing.assert_close(mixup_cuda.cross_entropy(z, y_a, label_smoothing=0.2).double(),
                               F.cross_entropy(z.double(), y_a, label_smoothing=0.2), rtol=2e-6, atol=2e-6)


def test_scalar_lambda_is_one_per_batch():
    z, y_a, y_b, _ = case(10, 6, seed=6)
    got = mixup_cuda.cross_entropy(z, y_a, y_b, 0.3)
    want = 0.3 * F.cross_entropy(z.double(), y_a) + 0.7 * F.cross_entropy(z.double(), y_b)
    torch.testing.assert_close(got.double(), want, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("dtype, tol", [(torch.float16, 2e-3), (torch.bfloat16, 1.6e-2)])
def test_half_precision_logits(dtype, tol):
    z, y_a, y_b, lam = case(16, 40, seed=7)
    zh = z.to(dtype)
    zt = zh.clone().requires_grad_()
    loss = mixup_cuda.cross_entropy(zt, y_a, y_b, lam)
    loss.backward()
    zr = zh.double().requires_grad_()
    want = reference(zr, y_a, y_b, lam, 0.0, "mean", -100)
    want.backward()
    assert zt.grad.dtype == dtype
    torch.testing.assert_close(loss.double(), want.detach(), rtol=tol, atol=tol)
    torch.testing.assert_close(zt.grad.double(), zr.grad, rtol=tol, atol=tol / 16)


def test_numpy_loss_and_gradient_match_torch():
    z, y_a, y_b, lam = case(20, 9, seed=8)
    loss, grad = mixup_cuda.cross_entropy_with_grad(z.numpy(), y_a.numpy(), y_b.numpy(), lam.numpy(),
                                                    label_smoothing=0.05, reduction="sum")
    assert isinstance(loss, np.ndarray) and isinstance(grad, np.ndarray) and loss.shape == ()
    zt = z.clone().requires_grad_()
    lt = mixup_cuda.cross_entropy(zt, y_a, y_b, lam, label_smoothing=0.05, reduction="sum")
    lt.backward()
    assert np.array_equal(loss, lt.detach().numpy()) and np.array_equal(grad, zt.grad.numpy())


def test_soft_targets_match_eager():
    z, y_a, y_b, lam = case(12, 7, seed=9)
    m = mixup_cuda.Mixup(seed=3, num_classes=7, label_smoothing=0.1)
    _, soft = m(torch.randn(12, 4), y_a, targets="onehot")
    zt = z.clone().requires_grad_()
    loss = mixup_cuda.soft_cross_entropy(zt, soft)
    loss.backward()
    zr = z.double().requires_grad_()
    want = -(soft.double() * F.log_softmax(zr, dim=1)).sum(1).mean()
    want.backward()
    torch.testing.assert_close(loss.double(), want.detach(), rtol=2e-6, atol=2e-6)
    torch.testing.assert_close(zt.grad.double(), zr.grad, rtol=1e-5, atol=1e-6)


def test_no_grad_and_plain_tensors_skip_the_gradient():
    z, y_a, y_b, lam = case(5, 4, seed=10)
    with torch.no_grad():
        loss = mixup_cuda.cross_entropy(z.clone().requires_grad_(), y_a, y_b, lam)
    assert loss.grad_fn is None
    assert mixup_cuda.cross_entropy(z, y_a, y_b, lam).grad_fn is None
