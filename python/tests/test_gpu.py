"""CUDA tensors through the binding: the same bits as the CPU backend for the op, the loss
within float tolerance, the framework's current stream, and CUDA-graph capture drawing fresh λ
on every replay. Skipped, with the reason, where torch or the library sees no GPU (here:
Debian's torch is CPU-only and there is no driver); scripts/gpu-check runs it on the GPU
machine. Unverified until that run."""
import pytest
import torch

import mixup_cuda

GPU = torch.cuda.is_available() and mixup_cuda.cuda_device_count() > 0
pytestmark = pytest.mark.skipif(not GPU, reason="no CUDA device (torch.cuda.is_available() = "
                                f"{torch.cuda.is_available()}, library devices = {mixup_cuda.cuda_device_count()})")


def test_op_on_gpu_equals_cpu_bits():
    x, y = torch.randn(33, 3, 8, 8), torch.randint(0, 10, (33,))
    kw = dict(seed=7, num_classes=10, switch_prob=0.5)
    cpu = mixup_cuda.Mixup(**kw)(x, y)
    gpu = mixup_cuda.Mixup(**kw)(x.cuda(), y.cuda())
    for a, b in zip(cpu, gpu):
        assert b.is_cuda and torch.equal(a, b.cpu())


def test_loss_on_gpu_matches_cpu():
    z, y_a, y_b, lam = torch.randn(64, 100), torch.randint(0, 100, (64,)), torch.randint(0, 100, (64,)), torch.rand(64)
    zc, zg = z.clone().requires_grad_(), z.cuda().requires_grad_()
    lc = mixup_cuda.cross_entropy(zc, y_a, y_b, lam, label_smoothing=0.1)
    lg = mixup_cuda.cross_entropy(zg, y_a.cuda(), y_b.cuda(), lam.cuda(), label_smoothing=0.1)
    lc.backward(), lg.backward()
    torch.testing.assert_close(lg.cpu(), lc, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(zg.grad.cpu(), zc.grad, rtol=1e-4, atol=1e-6)


def test_runs_on_the_current_stream_zero_copy():
    x = torch.randn(16, 3, 32, 32, device="cuda")
    out = torch.empty_like(x)
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        r, lam = mixup_cuda.Mixup(seed=1, checks="deferred")(x, out=out)
    s.synchronize()
    assert r is out and out.data_ptr() == r.data_ptr()
    want, _ = mixup_cuda.Mixup(seed=1)(x.cpu())
    assert torch.equal(out.cpu(), want)


def test_graph_capture_replays_draw_fresh_lambdas():
    x, y = torch.randn(8, 3, 4, 4, device="cuda"), torch.randint(0, 4, (8,), device="cuda")
    m = mixup_cuda.Mixup(seed=3, num_classes=4, graph_mode=True, checks="deferred")
    out, y_a, y_b, lam = torch.empty_like(x), None, None, None
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        m(x, y, out=out)  # warm-up: the handle is created outside capture
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        _, _, _, lam = m(x, y, out=out)
    g.replay()
    first = lam.clone()
    g.replay()
    torch.cuda.synchronize()
    assert not torch.equal(first, lam)
    m.poll_checks()


def test_loss_deferred_checks_add_no_sync_and_report_at_poll():
    """checks "deferred": a bad label on the GPU does not raise at the call and writes nothing;
    poll_checks raises it once (naming the label); a batch that outgrows the handle polls the
    old handle first, so a pending failure is raised, not dropped."""
    z = torch.randn(6, 5, device="cuda")
    bad = torch.tensor([0, 1, 2, 3, 5, 0], device="cuda")
    mixup_cuda.set_checks("deferred")
    try:
        from mixup_cuda.loss import _loss_handle, _run
        loss, grad = torch.full((6,), 7.0, device="cuda"), torch.full((6, 5), 7.0, device="cuda")
        stream = int(torch.cuda.current_stream().cuda_stream)
        _loss_handle(("cuda", 0), 6).cross_entropy(z, loss, y_a=bad.int(), grad=grad, reduction=0,
                                                   stream=stream)  # no raise: deferred
        with pytest.raises(ValueError, match="label 5"):
            mixup_cuda.poll_checks()
        assert (loss == 7.0).all() and (grad == 7.0).all()  # the failed call wrote nothing
        assert mixup_cuda.poll_checks() is None  # reported once
        _run(z, bad, None, None, None, 0.0, "none", -100, True)
        with pytest.raises(ValueError, match="label 5"):  # raised by the growing call's poll
            mixup_cuda.cross_entropy(torch.randn(4096, 5, device="cuda"), torch.zeros(4096, dtype=torch.long,
                                                                                     device="cuda"))
        good = mixup_cuda.cross_entropy(z, torch.zeros(6, dtype=torch.long, device="cuda"))
        assert mixup_cuda.poll_checks() is None and torch.isfinite(good)
    finally:
        mixup_cuda.set_checks("sync")
