"""The torch.library custom ops (mixup_cuda/ops.py) both ways.

On any torch: ops.py imports (its registration is skipped below 2.4); the fallback is the path
taken where torch lacks torch.library.custom_op; the op's and the loss's real implementations
equal the plain path bit for bit; their fake implementations give the real outputs' shapes,
dtypes and strides (checked on meta tensors, which 1.13 has); the registered backward, run
under a stand-in autograd.Function, gives the plain path's gradients for every reduction.

With torch >= 2.4 only (skipped here, with the reason; scripts/gpu-check-python runs them with
the GPU machine's torch, on CPU and CUDA tensors): the public API goes through the ops,
torch.library.opcheck passes for both, and torch.compile(fullgraph=True) equals eager for the
op (draws, step, side effects, one graph for many steps) and the loss with its backward.
"""
import subprocess
import sys
import textwrap
import types

import pytest
import torch

import mixup_cuda
from mixup_cuda import _arrays, ops

NEW = ops.supported() and ops.REGISTRATION_ERROR is None
OLD_REASON = (f"torch {torch.__version__} has no torch.library.custom_op (needs >= 2.4; Debian's is 1.13): "
              "the custom-op path is not available here; scripts/gpu-check-python runs this with its torch"
              if not ops.supported() else f"the custom ops were not registered: {ops.REGISTRATION_ERROR}")
needs_new = pytest.mark.skipif(not NEW, reason=OLD_REASON)
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() and mixup_cuda.cuda_device_count() > 0 else [])


@pytest.fixture
def fallback(monkeypatch):
    """The public API forced onto the plain path (what older torch runs)."""
    _arrays.torch_ops()
    monkeypatch.setattr(_arrays, "_ops", None)


def batch(n=9, classes=5, seed=0, dtype=torch.float32, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, 3, 6, 5, generator=g) * 255).to(dtype) if dtype == torch.uint8 else \
        torch.randn(n, 3, 6, 5, generator=g).to(dtype)
    return x.to(device), torch.randint(0, classes, (n,), generator=g).to(device)


# --- any torch --------------------------------------------------------------------------------


def test_version_rule():
    def fake(v, api=True):
        lib = types.SimpleNamespace(custom_op=1, register_fake=1, opcheck=1) if api else types.SimpleNamespace()
        return types.SimpleNamespace(__version__=v, library=lib, compiler=types.SimpleNamespace(is_compiling=1))

    assert ops.supported(fake("2.4.0")) and ops.supported(fake("2.11.0+cu128")) and ops.supported(fake("3.0.0a0"))
    assert not ops.supported(fake("2.3.1")) and not ops.supported(fake("1.13.0a0"))
    assert not ops.supported(fake("2.5.0", api=False))
    # A torch with the API must accept the registration (else ENABLED is off, with the reason).
    assert ops.REGISTRATION_ERROR is None, ops.REGISTRATION_ERROR
    assert ops.ENABLED == ops.supported()


def test_a_refused_registration_leaves_the_eager_package_working():
    """A future torch that has the API but refuses these registrations: a warning with the
    reason, ENABLED off, and the package otherwise as on an old torch (in a fresh interpreter,
    with torch made to look like 2.5 whose custom_op raises)."""
    code = textwrap.dedent("""
        import types, warnings, torch
        def refuse(*a, **k):
            raise RuntimeError("refused by test")
        torch.__version__ = "2.5.0"
        for name in ("custom_op", "register_fake", "opcheck"):
            setattr(torch.library, name, refuse)
        if not hasattr(torch, "compiler"):
            torch.compiler = types.SimpleNamespace(is_compiling=lambda: False)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            import mixup_cuda
            from mixup_cuda import ops, _arrays
        assert ops.supported() and not ops.ENABLED, ops.ENABLED
        assert ops.REGISTRATION_ERROR == "RuntimeError: refused by test", ops.REGISTRATION_ERROR
        assert any("custom ops not registered" in str(x.message) for x in w), [str(x.message) for x in w]
        assert _arrays.torch_ops() is None
        m = mixup_cuda.Mixup(seed=0, num_classes=3)
        x, y_a, y_b, lam = m(torch.randn(4, 2), torch.tensor([0, 1, 2, 0]))
        z = torch.randn(4, 3, requires_grad=True)
        mixup_cuda.cross_entropy(z, y_a, y_b, lam).backward()
        assert m.step == 1 and z.grad is not None
        print("ok")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr


@pytest.mark.skipif(ops.supported(), reason=f"torch {torch.__version__} has custom ops: the fallback is not the "
                    "default path")
def test_old_torch_takes_the_fallback(monkeypatch):
    # Why: torch.library.custom_op / register_fake arrived in torch 2.4; before it there is
    # nothing to register with, so the package keeps its plain calls and autograd.Function.
    assert not hasattr(torch.library, "custom_op") or not hasattr(torch.library, "register_fake")
    assert not ops.ENABLED and ops._mixup_op is None and ops._loss_op is None
    assert _arrays.torch_ops() is None
    m = mixup_cuda.Mixup(seed=1, num_classes=5)
    assert m._step_t is None and m._key is None  # the handle keeps the step

    def refuse(*a, **k):
        raise AssertionError("custom-op path taken")

    monkeypatch.setattr(ops, "mixup_call", refuse)
    monkeypatch.setattr(ops, "loss_call", refuse)
    x, y = batch()
    m(x, y)
    z = torch.randn(9, 5, requires_grad=True)
    mixup_cuda.cross_entropy(z, y, y.flip(0), torch.rand(9)).backward()
    assert m.step == 1 and z.grad is not None


def test_the_step_tensor_is_the_step_of_record_for_eager_calls(monkeypatch):
    """Where the ops exist, compiled calls advance Mixup._step_t; eager calls must start from it
    and leave it advanced. Forced on here (the ops registered or not, eager never calls them)."""
    x, y = batch()
    ref = mixup_cuda.Mixup(seed=3, num_classes=5)
    monkeypatch.setattr(_arrays, "_ops", ops)
    monkeypatch.setattr(_arrays, "_ops_resolved", True)
    monkeypatch.setattr(ops, "wanted", lambda x: False)  # eager
    m = mixup_cuda.Mixup(seed=3, num_classes=5)
    assert m._step_t is not None and int(m._step_t) == 0
    assert all(torch.equal(a, b) for a, b in zip(m(x, y), ref(x, y)))
    assert int(m._step_t) == 1 == m.step
    m._step_t.fill_(5)  # as a compiled call would leave it
    ref.step = 5
    assert all(torch.equal(a, b) for a, b in zip(m(x, y), ref(x, y)))
    assert int(m._step_t) == 6 == m.step
    m(x.numpy(), y.numpy())
    assert int(m._step_t) == 7 == m.step
    m.step = 2
    assert int(m._step_t) == 2 and m._handle.step == 2


CASES = {
    "stacked_int64": dict(targets="stacked"),
    "stacked_int32": dict(targets="stacked", labels=torch.int32),
    "onehot_draws": dict(targets="onehot", draws=True, switch_prob=0.5),
    "soft": dict(targets="soft"),
    "none": dict(targets="none"),
    "uint8_normalised": dict(targets="stacked", dtype=torch.uint8, normalize=([0.5] * 3, [0.25] * 3)),
}
MODES = {"none": 0, "stacked": 1, "onehot": 2, "soft": 3}


def _impl_args(case, m, step, device="cpu"):
    x, y = batch(dtype=case.get("dtype", torch.float32), device=device)
    y = y.to(case.get("labels", torch.int64))
    mode = MODES[case["targets"]]
    soft = torch.softmax(torch.randn(9, 5), 1).to(device) if mode == 3 else None
    out = torch.empty_like(x, dtype=torch.float32 if x.dtype == torch.uint8 else None)
    return (x, out, y if mode in (1, 2) else None, soft, ops.step_tensor(step), ops.register(m), mode, 5,
            case.get("draws", False))


def _mixer(case, seed=11):
    return mixup_cuda.Mixup(seed=seed, num_classes=5, switch_prob=case.get("switch_prob", 0.0),
                            normalize=case.get("normalize"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_op_impl_equals_the_plain_path_bits(name, fallback):
    case = CASES[name]
    m_op, m_plain = _mixer(case), _mixer(case)
    args = _impl_args(case, m_op, step=6)
    got = ops.mixup_impl(*args)
    assert int(args[4]) == 7  # the step tensor advanced
    x, out, labels, soft, mode, draws = args[0], args[1], args[2], args[3], args[6], args[8]
    m_plain.step = 6
    want = m_plain(x, soft if mode == 3 else labels, targets=case["targets"], draws=draws)
    assert torch.equal(out, want[0])
    lam, perm, y_a, y_b, soft_out, kind, box = got
    assert torch.equal(lam, m_plain.last_lam) and torch.equal(perm, m_plain.last_perm)
    if mode == 1:
        assert y_a.dtype == labels.dtype and torch.equal(y_a, want[1]) and torch.equal(y_b, want[2])
    if mode in (2, 3):
        assert torch.equal(soft_out, want[1])
    if draws:
        assert torch.equal(kind, m_plain.last_draws[0]) and torch.equal(box, m_plain.last_draws[1])
    # the unproduced outputs are empty, never garbage of a plausible shape
    assert all(t.numel() == 0 for i, t in enumerate(got) if
               (i in (2, 3) and mode != 1) or (i == 4 and mode not in (2, 3)) or (i >= 5 and not draws))


def test_op_impl_failure_leaves_the_step(fallback):
    m = _mixer({})
    args = list(_impl_args(CASES["stacked_int64"], m, step=3))
    args[2] = args[2] + 10  # labels out of range for num_classes=5
    with pytest.raises(ValueError):
        ops.mixup_impl(*args)
    assert int(args[4]) == 3


def _same_meta(real, fake, what):
    assert len(real) == len(fake), what
    for i, (r, f) in enumerate(zip(real, fake)):
        assert (tuple(r.shape), r.dtype, r.stride()) == (tuple(f.shape), f.dtype, f.stride()), f"{what} output {i}"
        assert f.device.type == "meta"


@pytest.mark.parametrize("name", sorted(CASES))
def test_op_fake_impl_matches_real_metadata(name):
    case = CASES[name]
    m = _mixer(case)  # the registry holds it weakly: keep it alive
    args = _impl_args(case, m, step=0)
    real = ops.mixup_impl(*args)
    meta = [a.to("meta") if isinstance(a, torch.Tensor) else a for a in args]
    _same_meta(real, ops.mixup_fake(*meta), name)


LOSS_CASES = [pytest.param(red, dt, grad, id=f"red{red}-{str(dt)[6:]}-{'grad' if grad else 'nograd'}")
              for red in (0, 1, 2) for dt in (torch.float32, torch.bfloat16) for grad in (True, False)]


def _loss_args(reduction, dtype, want_grad, soft=False, b=7, c=11):
    g = torch.Generator().manual_seed(b * c + reduction)
    z = torch.randn(b, c, generator=g).to(dtype)
    y_a, y_b, lam = torch.randint(0, c, (b,), generator=g), torch.randint(0, c, (b,), generator=g), torch.rand(b)
    y_a[1] = -100  # an ignored row
    if soft:
        return (z, None, None, None, torch.softmax(torch.randn(b, c, generator=g), 1), 0.0, reduction, -100, want_grad)
    return (z, y_a, y_b, lam, None, 0.1, reduction, -100, want_grad)


@pytest.mark.parametrize("reduction, dtype, want_grad", LOSS_CASES)
def test_loss_fake_impl_matches_real_metadata(reduction, dtype, want_grad):
    args = _loss_args(reduction, dtype, want_grad)
    real = ops.cross_entropy_impl(*args)
    meta = [a.to("meta") if isinstance(a, torch.Tensor) else a for a in args]
    _same_meta(real, ops.cross_entropy_fake(*meta), f"reduction {reduction} {dtype} grad {want_grad}")


class _Registered(torch.autograd.Function):
    """What custom_op's register_autograd builds (forward = impl, then setup_context; backward),
    standing in for it where torch has no custom ops, so the registered functions run here too."""

    @staticmethod
    def forward(ctx, *args):
        out = ops.cross_entropy_impl(*args)
        ops.cross_entropy_setup_context(ctx, args, out)
        return out

    @staticmethod
    def backward(ctx, *grads):
        return ops.cross_entropy_backward(ctx, *grads)


@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("reduction", [0, 1, 2])
def test_registered_backward_equals_the_plain_autograd_function(reduction, soft, fallback):
    args = list(_loss_args(reduction, torch.float32, True, soft=soft))
    z = args[0].clone().requires_grad_()
    zp = args[0].clone().requires_grad_()
    loss, grad = _Registered.apply(z, *args[1:])
    assert not grad.requires_grad  # the saved gradient is an output nobody differentiates
    name = {0: "none", 1: "mean", 2: "sum"}[reduction]
    if soft:
        want = mixup_cuda.soft_cross_entropy(zp, args[4], reduction=name)
    else:
        want = mixup_cuda.cross_entropy(zp, args[1], args[2], args[3], label_smoothing=0.1, reduction=name)
    assert torch.equal(loss, want)
    go = torch.linspace(-1.5, 2.0, 7) if reduction == 0 else torch.tensor(0.75)
    loss.backward(go)
    want.backward(go)
    assert torch.equal(z.grad, zp.grad)


# --- torch >= 2.4 -----------------------------------------------------------------------------


@needs_new
def test_new_torch_eager_calls_stay_direct_and_share_the_step(monkeypatch):
    def refuse(*a):
        raise AssertionError("custom op called in eager mode")

    monkeypatch.setattr(ops, "_mixup_op", refuse)
    monkeypatch.setattr(ops, "_loss_op", refuse)
    assert _arrays.torch_ops() is ops and not torch.compiler.is_compiling()
    m = mixup_cuda.Mixup(seed=1, num_classes=5)
    assert m._step_t is not None and m._step_t.device.type == "cpu" and m._step_t.dtype == torch.int64
    x, y = batch()
    _, y_a, y_b, lam = m(x, y)
    mixup_cuda.cross_entropy(torch.randn(9, 5, requires_grad=True), y_a, y_b, lam).backward()
    assert m.step == 1 and int(m._step_t) == 1
    m(x.numpy(), y.numpy())
    assert m.step == 2
    m.step = 7
    assert int(m._step_t) == 7 and m._handle.step == 7


@needs_new
@pytest.mark.parametrize("name", sorted(CASES))
def test_op_through_the_dispatcher_equals_the_direct_path(name):
    case = CASES[name]
    kw = dict(targets=case["targets"], draws=case.get("draws", False))
    x, y = batch(dtype=case.get("dtype", torch.float32))
    y = torch.softmax(torch.randn(9, 5), 1) if case["targets"] == "soft" else y.to(case.get("labels", torch.int64))
    y = None if case["targets"] == "none" else y
    m_op, m_plain = _mixer(case), _mixer(case)
    mode = MODES[case["targets"]] if y is not None else 0
    got = ops.mixup_call(m_op, x, y, mode, None, "float32", kw["draws"])  # what torch.compile runs
    want = m_plain(x, y, **kw)
    assert len(got) == len(want) and all(torch.equal(a, b) and a.dtype == b.dtype for a, b in zip(got, want))
    assert m_op.step == m_plain.step == 1 and torch.equal(m_op.last_lam, m_plain.last_lam)


@needs_new
def test_op_in_place_through_the_dispatcher():
    x = batch()[0]
    m, ref = mixup_cuda.Mixup(seed=4, pairing="involution"), mixup_cuda.Mixup(seed=4, pairing="involution")
    want, lam = ref(x.clone(), out=None)
    got, lam_op = ops.mixup_call(m, x, None, 0, x, "float32", False)
    assert got is x and torch.equal(x, want) and torch.equal(lam_op, lam)
    with pytest.raises(mixup_cuda.InvalidValue, match="in place needs"):  # as the direct path refuses it
        ops.mixup_call(mixup_cuda.Mixup(seed=4), x, None, 0, x, "float32", False)


def test_op_path_refuses_what_the_direct_path_refuses():
    m = mixup_cuda.Mixup(seed=0, num_classes=None)
    x = batch()[0]
    for bad, mode, match in ((torch.tensor(1.0), 0, "0-d"), (x.clone().requires_grad_(), 0, "requires grad"),
                             (x, 2, "needs Mixup\\(num_classes")):
        with pytest.raises(ValueError, match=match):
            ops.mixup_call(m, bad, None if mode == 0 else batch()[1], mode, None, "float32", False)
        with pytest.raises(ValueError, match=match):
            m(bad, None if mode == 0 else batch()[1], targets={0: "none", 2: "onehot"}[mode])


@needs_new
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_loss_through_the_dispatcher_equals_the_direct_path(reduction):
    args = _loss_args(0, torch.float32, True)
    z_op, z_plain = args[0].clone().requires_grad_(), args[0].clone().requires_grad_()
    got = ops.loss_call(z_op, args[1], args[2], args[3], None, 0.1, reduction, -100)
    want = mixup_cuda.cross_entropy(z_plain, args[1], args[2], args[3], label_smoothing=0.1, reduction=reduction)
    assert torch.equal(got, want)
    go = torch.linspace(-1.5, 2.0, 7) if reduction == "none" else torch.tensor(0.75)
    got.backward(go)
    want.backward(go)
    assert torch.equal(z_op.grad, z_plain.grad)


@needs_new
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_opcheck_mixup(name, device):
    case = CASES[name]
    m = _mixer(case)  # the registry holds it weakly: keep it alive
    args = _impl_args(case, m, step=4, device=device)
    torch.library.opcheck(torch.ops.mixup_cuda.mixup.default, args)


# opcheck compiles twice per case (static and dynamic shapes): every reduction with a gradient,
# bfloat16 once, and the forward-only form once.
OPCHECK_LOSS_CASES = [pytest.param(red, dt, grad, id=f"red{red}-{str(dt)[6:]}-{'grad' if grad else 'nograd'}")
                      for red, dt, grad in ((0, torch.float32, True), (1, torch.float32, True), (2, torch.float32, True),
                                            (1, torch.bfloat16, True), (0, torch.float32, False))]


@needs_new
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction, dtype, want_grad", OPCHECK_LOSS_CASES)
def test_opcheck_cross_entropy(reduction, dtype, want_grad, device):
    args = [a.to(device) if isinstance(a, torch.Tensor) else a for a in _loss_args(reduction, dtype, want_grad)]
    args[0].requires_grad_(want_grad)
    torch.library.opcheck(torch.ops.mixup_cuda.cross_entropy.default, tuple(args))


@needs_new
@pytest.mark.parametrize("device", DEVICES)
def test_opcheck_soft_cross_entropy(device):
    args = [a.to(device) if isinstance(a, torch.Tensor) else a for a in _loss_args(1, torch.float32, True, soft=True)]
    args[0].requires_grad_()
    torch.library.opcheck(torch.ops.mixup_cuda.cross_entropy.default, tuple(args))


@pytest.fixture
def dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


BACKENDS = ["aot_eager", "inductor"]


@needs_new
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_compiled_mixup_equals_eager_step_by_step(backend, device, dynamo):
    x, y = batch(device=device)
    m, ref = mixup_cuda.Mixup(seed=5, num_classes=5, switch_prob=0.5), mixup_cuda.Mixup(seed=5, num_classes=5,
                                                                                       switch_prob=0.5)
    f = torch.compile(lambda x, y: m(x, y), fullgraph=True, backend=backend)
    for step in range(3):
        got, want = f(x, y), ref(x, y)
        assert all(torch.equal(a, b) and a.dtype == b.dtype for a, b in zip(got, want)), f"step {step}"
        assert torch.equal(m.last_lam, got[3])  # the attribute written in the graph's side effects
    assert m.step == ref.step == 3


@needs_new
@pytest.mark.parametrize("device", DEVICES)
def test_compiled_mixup_is_one_graph_and_never_deduplicated(device, dynamo):
    graphs = []

    def backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    x, y = batch(device=device)
    m, ref = mixup_cuda.Mixup(seed=2, num_classes=5), mixup_cuda.Mixup(seed=2, num_classes=5)

    def two(x, y):  # the same inputs twice: a pure op would be merged into one call
        return m(x, y), m(x, y)

    f = torch.compile(two, fullgraph=True, backend=backend)
    for _ in range(3):
        a, b = f(x, y)
        ra, rb = ref(x, y), ref(x, y)
        assert not torch.equal(a[3], b[3])  # two steps, two draws
        assert all(torch.equal(p, q) for p, q in zip(a + b, ra + rb))
    assert m.step == 6
    assert len(graphs) == 1, "the step is a tensor: a new step must not recompile"
    calls = [n for n in graphs[0].graph.nodes if n.target is torch.ops.mixup_cuda.mixup.default]
    assert len(calls) == 2


@needs_new
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("backend, reduction", [("aot_eager", "none"), ("aot_eager", "mean"), ("aot_eager", "sum"),
                                                ("inductor", "none"), ("inductor", "mean")])
def test_compiled_loss_and_backward_equal_eager(reduction, backend, device, dynamo):
    g = torch.Generator().manual_seed(3)
    z0 = torch.randn(33, 101, generator=g).to(device)
    y_a, y_b, lam = (torch.randint(0, 101, (33,), generator=g).to(device),
                     torch.randint(0, 101, (33,), generator=g).to(device), torch.rand(33, generator=g).to(device))

    def f(z, y_a, y_b, lam):
        return mixup_cuda.cross_entropy(z, y_a, y_b, lam, label_smoothing=0.1, reduction=reduction)

    go = torch.linspace(-1.0, 2.0, 33, device=device) if reduction == "none" else torch.tensor(0.5, device=device)
    z_c, z_e = z0.clone().requires_grad_(), z0.clone().requires_grad_()
    got = torch.compile(f, fullgraph=True, backend=backend)(z_c, y_a, y_b, lam)
    want = f(z_e, y_a, y_b, lam)
    got.backward(go)
    want.backward(go)
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(z_c.grad, z_e.grad, rtol=1e-6, atol=1e-7)


@needs_new
@pytest.mark.parametrize("device", DEVICES)
def test_compiled_training_step_mixup_and_loss(device, dynamo):
    """The op and the loss in one compiled step with a model: one graph, eager's numbers."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(90, 5)).to(device)
    m, ref = mixup_cuda.Mixup(seed=9, num_classes=5), mixup_cuda.Mixup(seed=9, num_classes=5)

    def step(mixer, x, y):
        xm, y_a, y_b, lam = mixer(x, y)
        return mixup_cuda.cross_entropy(model(xm), y_a, y_b, lam)

    x, y = batch(device=device)
    got = torch.compile(step, fullgraph=True, backend="aot_eager")(m, x, y)
    (g_got,) = torch.autograd.grad(got, model[1].weight)
    want = step(ref, x, y)
    (g_want,) = torch.autograd.grad(want, model[1].weight)
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(g_got, g_want)
    assert m.step == ref.step == 1
