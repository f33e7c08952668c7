"""mixup_cuda.timm.Mixup keeps timm's laws: flip pairing, unfolded λ ~ Beta(α, α), one draw per
batch / pair / sample, soft targets = timm's mixup_target for the drawn λ, CutMix's kept
fraction = λ. Thresholds: KS at p = 0.001 (D < 1.95/√n); binomial shares within 4.5σ."""
import math

import numpy as np
import pytest
import torch

import mixup_cuda.timm


def timm_mixup_target(target, num_classes, lam, smoothing):
    """timm.data.mixup.mixup_target, written out (timm is not installed here), λ per sample."""
    off = smoothing / num_classes
    on = 1.0 - smoothing + off
    y1 = torch.full((len(target), num_classes), off, dtype=torch.float64)
    y1[torch.arange(len(target)), target] = on
    y2 = y1.flip(0)
    lam = lam.double().view(-1, 1)
    return y1 * lam + y2 * (1.0 - lam)


def ks_uniform(samples):
    s = np.sort(np.asarray(samples, np.float64))
    n = len(s)
    i = np.arange(1, n + 1)
    return max((i / n - s).max(), (s - (i - 1) / n).max())


def test_flip_pairing_unfolded_uniform_lambda_elem_mode():
    n = 4000
    m = mixup_cuda.timm.Mixup(mixup_alpha=1.0, mode="elem", label_smoothing=0.0, num_classes=10, seed=1)
    x, y = torch.randn(n, 3), torch.randint(0, 10, (n,))
    m(x, y)
    assert torch.equal(m._on.last_perm, torch.arange(n - 1, -1, -1, dtype=torch.int32))
    lam = m.last_lam.numpy()
    assert ks_uniform(lam) < 1.95 / math.sqrt(n)  # Beta(1, 1) is uniform: no fold, no pile-up
    assert abs((lam < 0.5).mean() - 0.5) < 4.5 * 0.5 / math.sqrt(n)


@pytest.mark.parametrize("mode", ["batch", "pair"])
def test_one_draw_per_batch_or_pair(mode):
    m = mixup_cuda.timm.Mixup(mixup_alpha=0.8, mode=mode, num_classes=5, seed=2)
    x, y = torch.randn(8, 2), torch.randint(0, 5, (8,))
    firsts = []
    for _ in range(300):
        m(x, y)
        lam = m.last_lam
        if mode == "batch":
            assert (lam == lam[0]).all()
        else:
            assert torch.equal(lam, lam.flip(0)) and len(set(lam[:4].tolist())) == 4
        firsts.append(float(lam[0]))
    assert (np.array(firsts) < 0.5).mean() > 0.35  # not folded: λ < 0.5 as often as not


@pytest.mark.parametrize("mode", ["batch", "pair", "elem"])
@pytest.mark.parametrize("cutmix", [False, True])
def test_soft_targets_are_timm_mixup_target(mode, cutmix):
    kw = dict(mixup_alpha=0.8, cutmix_alpha=1.0, switch_prob=0.5) if cutmix else dict(mixup_alpha=0.4)
    m = mixup_cuda.timm.Mixup(mode=mode, label_smoothing=0.1, num_classes=7, seed=3, **kw)
    x, y = torch.randn(10, 3, 6, 6), torch.randint(0, 7, (10,))
    out, target = m(x, y)
    assert target.shape == (10, 7) and target.dtype == torch.float32
    torch.testing.assert_close(target.double(), timm_mixup_target(y, 7, m.last_lam, 0.1), rtol=0, atol=1e-6)
    # mixup draws blend x with its flip by λ (CutMix rows: test_cutmix_kept_fraction_is_lambda)
    lam = m.last_lam.view(-1, 1, 1, 1)
    mixed = lam * x + (1 - lam) * x.flip(0)
    blended = (out - mixed).abs().flatten(1).amax(1) < 1e-5
    assert cutmix or blended.all()


@pytest.mark.parametrize("minmax", [None, (0.2, 0.8)])
def test_cutmix_kept_fraction_is_lambda(minmax):
    n, h, w = 200, 12, 10
    m = mixup_cuda.timm.Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, cutmix_minmax=minmax, mode="elem", num_classes=3,
                              seed=4)
    x = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 2, h, w).contiguous()
    out, _ = m(x, torch.zeros(n, dtype=torch.long))
    kept = (out == x).flatten(1).double().mean(1)
    lam = m.last_lam.double()
    torch.testing.assert_close(kept, lam, rtol=0, atol=1e-6)
    assert (lam < 1).float().mean() > 0.5  # boxes were pasted
    if minmax is not None:  # sides within [⌊H·lo⌋, ⌊H·hi⌋]: the kept share is bounded
        assert lam.min() >= 1 - (int(h * 0.8) * int(w * 0.8)) / (h * w) - 1e-9


def test_prob_leaves_draws_unmixed():
    n = 4000
    m = mixup_cuda.timm.Mixup(mixup_alpha=1.0, prob=0.3, mode="elem", num_classes=2, label_smoothing=0.0, seed=5)
    m(torch.randn(n, 1), torch.zeros(n, dtype=torch.long))
    unmixed = (m.last_lam == 1.0).double().mean().item()
    assert abs(unmixed - 0.7) < 4.5 * math.sqrt(0.7 * 0.3 / n)


def test_disabled_and_odd_batch_and_in_place():
    m = mixup_cuda.timm.Mixup(num_classes=4, seed=6, label_smoothing=0.2)
    x, y = torch.randn(6, 3), torch.tensor([0, 1, 2, 3, 0, 1])
    m.mixup_enabled = False
    out, target = m(x, y)
    assert torch.equal(out, x)
    torch.testing.assert_close(target.double(), timm_mixup_target(y, 4, torch.ones(6), 0.2), rtol=0, atol=1e-7)
    with pytest.raises(ValueError, match="even"):
        m(torch.randn(5, 3), y[:5])
    mi = mixup_cuda.timm.Mixup(num_classes=4, seed=6, in_place=True)
    x2 = x.clone()
    out2, _ = mi(x2, y)
    assert out2 is x2 and not torch.equal(x2, x)
    with pytest.raises(ValueError, match="should be true"):
        mixup_cuda.timm.Mixup(mixup_alpha=0.0, cutmix_alpha=0.0)
