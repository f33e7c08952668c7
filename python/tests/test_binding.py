"""The binding equals the C ABI bit for bit, copies nothing, and agrees across frameworks."""
import gc
import subprocess
import sys

import numpy as np
import pytest
import torch

import capi
import mixup_cuda


def bits(a):
    a = np.ascontiguousarray(np.asarray(a))
    return a.view(np.uint8)


def assert_same_bits(got, want, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape or got.size == want.size, what
    assert np.array_equal(bits(got).ravel(), bits(want).ravel()), f"{what}: differs from the C ABI"


def images(n=9, c=3, h=8, w=7, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    if dtype == np.uint8:
        return rng.integers(0, 256, (n, c, h, w), dtype=np.uint8)
    return rng.standard_normal((n, c, h, w)).astype(dtype)


def test_extension_links_the_shared_library_and_no_framework():
    assert "libmixup_cuda.so.0" in mixup_cuda.library_path()
    assert mixup_cuda.cpu_isa() in ("baseline", "avx2", "avx512")
    so = mixup_cuda._C.__file__
    needed = subprocess.run(["readelf", "-d", so], capture_output=True, text=True, check=True).stdout
    needed = [line.split("[")[1] for line in needed.splitlines() if "(NEEDED)" in line]
    assert "libmixup_cuda.so.0]" in needed
    assert not [n for n in needed if "torch" in n or "python" in n or "cuda" in n and "mixup" not in n], needed
    # importing the package does not import torch (NumPy users need not have it)
    code = "import sys, mixup_cuda; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


CASES = {
    "mixup_stacked": dict(mode=1, kw={}, mixing=None),
    "mixup_onehot_smoothing": dict(mode=2, kw=dict(label_smoothing=0.1), mixing=None),
    "batch_lambda_involution": dict(mode=1, kw=dict(lambda_mode="batch", pairing="involution"), mixing=None),
    "cutmix_switch": dict(mode=1, kw=dict(switch_prob=0.5, cutmix_alpha=1.0), mixing=dict(switch_prob=0.5)),
    "cutmix_minmax_prob": dict(mode=1, kw=dict(prob=0.7, switch_prob=1.0, cutmix_minmax=(0.2, 0.6)),
                               mixing=dict(prob=0.7, switch_prob=1.0, cutmix_minmax=(0.2, 0.6))),
    "flip_unfolded_pair": dict(mode=1, kw=dict(pairing="flip", fold=False, lambda_mode="pair", alpha=1.0),
                               mixing=None),
}
_ENUM = {"lambda_mode": {"sample": 0, "batch": 1, "pair": 2}, "pairing": {"permutation": 0, "involution": 1,
                                                                           "flip": 2}}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("framework", ["numpy", "torch"])
def test_op_equals_c_abi(case, framework):
    spec = CASES[case]
    x, labels, classes, seed, step = images(), np.arange(9, dtype=np.int32) % 5, 5, 1234, 17
    m = mixup_cuda.Mixup(seed=seed, num_classes=classes, **spec["kw"])
    m.step = step
    targets = {1: "stacked", 2: "onehot"}[spec["mode"]]
    xin, yin = (x, labels) if framework == "numpy" else (torch.from_numpy(x.copy()), torch.from_numpy(labels).long())
    got = m(xin, yin, targets=targets, draws=True)
    assert m.step == step + 1
    kw = {k: _ENUM[k][v] if k in _ENUM else v for k, v in spec["kw"].items()
          if k in ("alpha", "lambda_mode", "pairing", "fold", "label_smoothing")}
    out = np.empty_like(x)
    want = capi.apply(x, out, seed=seed, step=step, num_classes=classes, mode=spec["mode"], labels=labels,
                      mixing=spec["mixing"], with_draws=True, shape=x.shape, **kw)
    assert_same_bits(got[0], out, "x_mixed")
    if spec["mode"] == 1:
        assert_same_bits(np.asarray(got[1]).astype(np.int32), want["y_a"], "y_a")
        assert_same_bits(np.asarray(got[2]).astype(np.int32), want["y_b"], "y_b")
        assert_same_bits(got[3], want["lam"], "lam")
    else:
        assert_same_bits(got[1], want["soft_out"], "soft targets")
    assert_same_bits(m.last_perm, want["perm"], "perm")
    assert_same_bits(m.last_draws[0], want["kind"], "kind")
    assert_same_bits(m.last_draws[1], want["box"], "CutMix boxes")


def test_uint8_normalised_equals_c_abi():
    x = images(n=6, c=3, h=5, w=5, dtype=np.uint8)
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    m = mixup_cuda.Mixup(seed=9, normalize=(mean, std))
    got, lam = m(x)
    assert got.dtype == np.float32
    out = np.empty(x.shape, np.float32)
    want = capi.apply(x, out, seed=9, step=0, normalize=(mean, std), shape=x.shape)
    assert_same_bits(got, out, "normalised blend")
    assert_same_bits(lam, want["lam"], "lam")


@pytest.mark.parametrize("reduction", [0, 1, 2])
def test_loss_and_gradient_equal_c_abi(reduction):
    rng = np.random.default_rng(3)
    z = rng.standard_normal((13, 11)).astype(np.float32) * 3
    y_a, y_b = rng.integers(0, 11, 13).astype(np.int32), rng.integers(0, 11, 13).astype(np.int32)
    y_a[4] = -100
    lam = rng.uniform(0, 1, 13).astype(np.float32)
    name = {0: "none", 1: "mean", 2: "sum"}[reduction]
    loss, grad = mixup_cuda.cross_entropy_with_grad(z, y_a, y_b, lam, label_smoothing=0.1, reduction=name)
    want_loss, want_grad = capi.cross_entropy(z, y_a, y_b, lam, label_smoothing=0.1, reduction=reduction)
    assert_same_bits(loss, want_loss, "loss")
    assert_same_bits(grad, want_grad, "gradient")
    # and the torch autograd path hands back the same gradient bits
    zt = torch.from_numpy(z.copy()).requires_grad_()
    lt = mixup_cuda.cross_entropy(zt, torch.from_numpy(y_a), torch.from_numpy(y_b), torch.from_numpy(lam),
                                  label_smoothing=0.1, reduction=name)
    (lt.sum() if reduction == 0 else lt).backward()
    assert_same_bits(lt.detach().numpy(), want_loss, "torch loss")
    assert_same_bits(zt.grad.numpy(), want_grad, "torch autograd gradient")


def test_zero_copy_out_and_in_place():
    x = torch.randn(8, 3, 6, 6)
    out = torch.full_like(x, float("nan"))
    ptr = out.data_ptr()
    m = mixup_cuda.Mixup(seed=5)
    xm, lam = m(x, out=out)
    assert xm is out and out.data_ptr() == ptr and not torch.isnan(out).any()
    # in place (involution pairing): the caller's own memory changes, same pointer, same bits
    # as the out-of-place call with the same draws
    ref = mixup_cuda.Mixup(seed=5, pairing="involution")
    want, _ = ref(x)
    inv = mixup_cuda.Mixup(seed=5, pairing="involution")
    x2, p2 = x.clone(), None
    p2 = x2.data_ptr()
    got, _ = inv(x2, out=x2)
    assert got is x2 and x2.data_ptr() == p2
    assert torch.equal(x2, want) and not torch.equal(x2, x)
    # NumPy: the returned array is the one passed as out
    xn = x.numpy().copy()
    on = np.empty_like(xn)
    r, _ = mixup_cuda.Mixup(seed=5)(xn, out=on)
    assert r is on and np.shares_memory(r, on)


def test_outputs_are_framework_native():
    m = mixup_cuda.Mixup(seed=1, num_classes=4)
    xt, yt = torch.randn(4, 5), torch.tensor([0, 1, 2, 3])
    r = m(xt, yt)
    assert all(isinstance(a, torch.Tensor) for a in r) and r[1].dtype == torch.int64 and r[3].dtype == torch.float32
    r = m(xt.numpy(), yt.numpy().astype(np.int32))
    assert all(isinstance(a, np.ndarray) for a in r) and r[1].dtype == np.int32


def test_channels_last_is_nhwc_and_matches_nchw():
    x = torch.randn(5, 3, 4, 6)
    a, _ = mixup_cuda.Mixup(seed=2)(x)
    b, _ = mixup_cuda.Mixup(seed=2)(x.contiguous(memory_format=torch.channels_last))
    assert b.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(a, b.contiguous())


def test_numpy_and_torch_agree_on_every_output():
    x = images(n=7, dtype=np.float16)
    y = np.array([0, 1, 2, 0, 1, 2, 0], np.int32)
    a = mixup_cuda.Mixup(seed=11, num_classes=3, switch_prob=0.5)(x, y)
    b = mixup_cuda.Mixup(seed=11, num_classes=3, switch_prob=0.5)(torch.from_numpy(x), torch.from_numpy(y))
    for u, v, what in zip(a, b, ("x", "y_a", "y_b", "lam")):
        assert_same_bits(u, v.numpy(), what)


def test_bfloat16_torch_equals_float_path_draws():
    x = torch.randn(6, 10)
    a, _, _, la = mixup_cuda.Mixup(seed=4, num_classes=2)(x.bfloat16(), torch.zeros(6, dtype=torch.long))
    _, _, _, lb = mixup_cuda.Mixup(seed=4, num_classes=2)(x, torch.zeros(6, dtype=torch.long))
    assert a.dtype == torch.bfloat16 and torch.equal(la, lb)


def test_handle_grows_with_the_batch_and_draws_do_not_change():
    big = images(n=70, c=1, h=4, w=4)
    m = mixup_cuda.Mixup(seed=8)
    m(big[:3])  # handle sized for 3
    got, lam = m(big)  # step 1, needs 70
    ref = mixup_cuda.Mixup(seed=8)
    ref.step = 1
    want, wlam = ref(big)
    assert_same_bits(got, want, "x after growth")
    assert_same_bits(lam, wlam, "lam after growth")
    assert m.step == 2


def test_step_replays_and_advances():
    x = images(n=5)
    m = mixup_cuda.Mixup(seed=3)
    a, la = m(x)
    b, lb = m(x)
    assert not np.array_equal(la, lb)
    m.step = 0
    c, lc = m(x)
    assert_same_bits(c, a, "replayed step") and m.step == 1


def test_replay_given_draws():
    x = images(n=4, c=1, h=2, w=2)
    lam = np.array([1.0, 0.25, 0.5, 0.0], np.float32)
    perm = np.array([0, 2, 1, 3], np.int64)
    out = mixup_cuda.Mixup(seed=1).replay(x, lam, perm)
    want = lam[:, None, None, None] * x + (1 - lam[:, None, None, None]) * x[perm]
    np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-6)


def test_capsule_input_and_used_name():
    x = torch.randn(4, 6)
    cap = x.__dlpack__()
    out = torch.empty_like(x)
    h = mixup_cuda._C.Handle(backend=0, device=0, alpha=0.4, lambda_mode=0, pairing=0, fold=True, seed=1,
                             rank_salt=0, label_smoothing=0.0, num_classes=0, max_batch=4)
    h.apply(cap, out, mode=0)
    assert "used_dltensor" in repr(cap)
    with pytest.raises(ValueError, match="already consumed"):
        h.apply(cap, out, mode=0)


def test_refcounts_no_leak_over_ten_thousand_calls():
    m = mixup_cuda.Mixup(seed=1, num_classes=10)
    x, y = np.ones((16, 1024), np.float32), np.arange(16, dtype=np.int32) % 10
    z = np.random.default_rng(0).standard_normal((16, 10)).astype(np.float32)
    for _ in range(100):  # warm up caches and allocators
        m(x, y)
    gc.collect()
    rx, ry, objects = sys.getrefcount(x), sys.getrefcount(y), len(gc.get_objects())
    rss0 = _rss()
    for _ in range(10_000):
        xm, ya, yb, lam = m(x, y)
        mixup_cuda.cross_entropy(z, ya, yb, lam)
    del xm, ya, yb, lam
    gc.collect()
    assert sys.getrefcount(x) == rx and sys.getrefcount(y) == ry  # every DLPack export was released
    assert len(gc.get_objects()) - objects < 100
    assert _rss() - rss0 < 32 << 20  # a leaked 64 KiB output per call would be 640 MiB


def test_input_dying_first_is_safe():
    m = mixup_cuda.Mixup(seed=2)
    x = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    want, _ = mixup_cuda.Mixup(seed=2)(x.clone())
    cap = x.__dlpack__()
    del x  # the capsule holds the storage now
    gc.collect()
    out = torch.empty(4, 6)
    h = mixup_cuda._C.Handle(backend=0, device=0, alpha=0.4, lambda_mode=0, pairing=0, fold=True, seed=2,
                             rank_salt=0, label_smoothing=0.0, num_classes=0, max_batch=4)
    h.apply(cap, out, mode=0)
    del cap
    gc.collect()
    assert torch.equal(out, want)
    # outputs outlive the Mixup that wrote them
    r, _ = m(torch.ones(4, 6))
    del m
    gc.collect()
    assert torch.isfinite(r).all()


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def test_threads_with_their_own_handles_match_sequential_runs():
    # the C call runs without the GIL; each thread has its own Mixup and (thread-local) loss handle
    import threading

    x, y = images(n=32, c=3, h=16, w=16), np.arange(32, dtype=np.int32) % 10
    z = np.random.default_rng(1).standard_normal((32, 10)).astype(np.float32)

    def run(seed):
        m = mixup_cuda.Mixup(seed=seed, num_classes=10)
        return [(m(x, y), mixup_cuda.cross_entropy_with_grad(z, y, y[::-1].copy(), np.full(32, 0.7, np.float32)))
                for _ in range(50)]

    want = {s: run(s) for s in range(4)}
    got = {}
    threads = [threading.Thread(target=lambda s=s: got.__setitem__(s, run(s))) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in range(4):
        for (a, la), (b, lb) in zip(got[s], want[s]):
            for u, v in zip(a + la, b + lb):
                assert_same_bits(u, v, f"thread {s}")


def test_same_bits_at_every_cpu_isa_level():
    # the library picks its CPU code once per process (MIXUP_CPU_ISA caps it): one process per level
    code = """if True:
        import numpy as np, mixup_cuda
        rng = np.random.default_rng(0)
        x, y = rng.standard_normal((33, 3, 5, 7)).astype(np.float32), rng.integers(0, 9, 33).astype(np.int32)
        xm, ya, yb, lam = mixup_cuda.Mixup(seed=3, num_classes=9, switch_prob=0.5)(x, y)
        z = rng.standard_normal((33, 1001)).astype(np.float32)
        loss, grad = mixup_cuda.cross_entropy_with_grad(z, ya, yb, lam, label_smoothing=0.1)
        print(mixup_cuda.cpu_isa(), hash(xm.tobytes() + lam.tobytes() + loss.tobytes() + grad.tobytes()))
    """
    import os

    levels = {}
    for level in ("baseline", "avx2", "avx512"):
        env = dict(os.environ, MIXUP_CPU_ISA=level, PYTHONHASHSEED="0")
        r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        if r.returncode == 0:
            name, digest = r.stdout.split()
            levels[name] = digest
        else:
            assert "above what" in r.stderr or "not supported" in r.stderr or "INVALID_VALUE" in r.stderr, r.stderr
    assert "baseline" in levels and len(set(levels.values())) == 1, levels
