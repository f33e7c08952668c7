"""The binding's overhead over the C call, per call, on a tiny batch (the work is nearly nil, so
the difference is the binding): the fused op on x [2, 1, 2, 2] f32 with stacked targets and
the loss on logits [2, 10] f32 (loss and gradient, mean), each three ways on the same tensors
and the same library (libmixup_cuda.so.0 as the package loaded it):

  c_abi      mixup_apply / mixup_cross_entropy through ctypes, argument structs built once
             (ctypes adds its own ~1 µs, so the overhead below is if anything understated)
  extension  mixup_cuda._C: Handle.apply / Loss.cross_entropy, outputs preallocated, each
             tensor exported by torch.utils.dlpack.to_dlpack per call (what the package does);
             "exports" times those exports alone, to split torch's share from the binding's
  front      the public call: Mixup(x, y) / cross_entropy_with_grad(z, y_a, y_b, lam), which
             also allocates its outputs (and, for int64 labels, converts them)

Candidates run in interleaved rounds (each round: `calls` calls of each); the per-call time is
the median round's. The target (issue 21): extension − c_abi <= 5 µs per call. Where torch
has the custom ops (>= 2.4), "front_op" is the public call through the dispatcher, as
torch.compile runs it (eager calls stay direct). Run on its own for the CPU rows; bench_gpu.py
runs it with device "cuda" (host time per call, the kernel queued on the current stream).

  PYTHONPATH=build/ci/python /usr/bin/python3 bench/python/overhead.py [--device cuda]"""
import ctypes as C
import os
import statistics
import sys
import time

import torch

import mixup_cuda

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "tests"))
import capi  # noqa: E402  (the ctypes mirror of the C ABI that the tests use)

TARGET_US = 5.0


def _timed(cands, calls, rounds, sync):
    per = {k: [] for k in cands}
    for fn in cands.values():
        for _ in range(50):
            fn()
    sync()
    for _ in range(rounds):
        for k, fn in cands.items():
            t = time.perf_counter()
            for _ in range(calls):
                fn()
            sync()
            per[k].append((time.perf_counter() - t) / calls * 1e6)
    return {k: statistics.median(v) for k, v in per.items()}


def _optional(cands, name, fn):
    """An informative candidate that must not cost the verdict: kept only if one call works."""
    try:
        fn()
        cands[name] = fn
    except Exception as e:  # noqa: BLE001 — reported, the measurement goes on without it
        print(f"overhead: {name} left out: {type(e).__name__}: {e}")


def measure(device="cpu", calls=2000, rounds=15):
    """{"op": {candidate: us}, "loss": {...}} for `device` ("cpu" or "cuda"); checks first
    that the C call and the extension write the same bits."""
    cuda = device == "cuda"
    backend, sync = (1, torch.cuda.synchronize) if cuda else (0, lambda: None)
    stream = torch.cuda.current_stream().cuda_stream if cuda else None
    c_stream = C.c_void_p(stream) if cuda else None  # a pointer, not a C int
    dl = torch.utils.dlpack.to_dlpack
    lib = capi._lib
    threads = mixup_cuda.get_num_threads()
    mixup_cuda.set_num_threads(1)  # one thread everywhere: no pool hand-off in any candidate

    # --- the op: x [2, 1, 2, 2] f32, int32 labels, stacked targets
    n = 2
    x = torch.randn(n, 1, 2, 2, device=device)
    y = torch.tensor([1, 3], dtype=torch.int32, device=device)
    out, lam, perm = torch.empty_like(x), torch.empty(n, device=device), torch.empty(n, dtype=torch.int32, device=device)
    y_a, y_b = torch.empty_like(y), torch.empty_like(y)
    h = mixup_cuda._C.Handle(backend=backend, device=0, alpha=0.4, lambda_mode=0, pairing=0, fold=True, seed=0,
                             rank_salt=0, label_smoothing=0.0, num_classes=10, max_batch=n, deferred_checks=cuda,
                             cpu_threads=1)
    cfg = lib.mixup_config_default()
    cfg.backend, cfg.alpha, cfg.seed, cfg.num_classes, cfg.max_batch, cfg.cpu_threads = backend, 0.4, 0, 10, n, 1
    cfg.checks = 1 if cuda else 0
    ch = C.c_void_p()
    capi._check(lib.mixup_create(C.byref(cfg), C.byref(ch)))
    bx = capi.Batch(x.data_ptr(), 0, n, 1, 2, 2, 0)
    bo = capi.Batch(out.data_ptr(), 0, n, 1, 2, 2, 0)
    tg = capi.Targets(1, y.data_ptr(), None, y_a.data_ptr(), y_b.data_ptr(), lam.data_ptr(), None, perm.data_ptr())
    refs = (C.byref(bx), C.byref(bo), C.byref(tg), c_stream)

    def c_op():
        return lib.mixup_apply(ch, *refs)

    def ext_op():
        h.apply(dl(x), dl(out), mode=1, labels=dl(y), y_a=dl(y_a), y_b=dl(y_b), lam=dl(lam), perm=dl(perm),
                stream=stream)

    capi._check(lib.mixup_set_step(ch, 5))
    capi._check(c_op())
    sync()
    want = [t.clone() for t in (out, y_a, y_b, lam, perm)]
    h.step = 5
    ext_op()
    sync()
    if not all(torch.equal(a, b) for a, b in zip((out, y_a, y_b, lam, perm), want)):
        raise RuntimeError("overhead: the extension and the C call disagree on the op at step 5")
    front_m = mixup_cuda.Mixup(0.4, num_classes=10, seed=0, cpu_threads=1, checks="deferred" if cuda else "sync")
    def exports_op():  # torch's share of ext_op: the seven exports alone (capsules freed unconsumed)
        dl(x), dl(out), dl(y), dl(y_a), dl(y_b), dl(lam), dl(perm)

    cands = {"c_abi": c_op, "extension": ext_op, "exports": exports_op, "front": lambda: front_m(x, y)}
    ops = mixup_cuda._arrays.torch_ops()
    if ops is not None:
        op_m = mixup_cuda.Mixup(0.4, num_classes=10, seed=0, cpu_threads=1, checks="deferred" if cuda else "sync")
        _optional(cands, "front_op", lambda: ops.mixup_call(op_m, x, y, 1, None, "float32", False))
    op = _timed(cands, calls, rounds, sync)

    # --- the loss: logits [2, 10] f32, loss and gradient, mean
    z = torch.randn(n, 10, device=device)
    la, lb, ll = y.clone(), y.flip(0).contiguous(), torch.full((n,), 0.7, device=device)
    loss, grad = torch.empty((), device=device), torch.empty_like(z)
    lh = mixup_cuda._C.Loss(backend=backend, device=0, max_batch=n, deferred_checks=cuda, cpu_threads=1)
    lcfg = lib.mixup_loss_config_default()
    lcfg.backend, lcfg.max_batch, lcfg.cpu_threads, lcfg.checks = backend, n, 1, 1 if cuda else 0
    lch = C.c_void_p()
    capi._check(lib.mixup_loss_create(C.byref(lcfg), C.byref(lch)))
    a = lib.mixup_ce_args_default()
    a.logits, a.dtype, a.batch, a.classes = z.data_ptr(), 0, n, 10
    a.y_a, a.y_b, a.lam, a.reduction = la.data_ptr(), lb.data_ptr(), ll.data_ptr(), 1
    a.loss, a.grad, a.grad_dtype = loss.data_ptr(), grad.data_ptr(), 0
    lref = C.byref(a)

    def c_loss():
        return lib.mixup_cross_entropy(lch, lref, c_stream)

    def ext_loss():
        lh.cross_entropy(dl(z), dl(loss), y_a=dl(la), y_b=dl(lb), lam=dl(ll), grad=dl(grad), reduction=1,
                         stream=stream)

    capi._check(c_loss())
    sync()
    want = (loss.clone(), grad.clone())
    ext_loss()
    sync()
    if not (torch.equal(loss, want[0]) and torch.equal(grad, want[1])):
        raise RuntimeError("overhead: the extension and the C call disagree on the loss")
    def exports_loss():
        dl(z), dl(loss), dl(la), dl(lb), dl(ll), dl(grad)

    cands = {"c_abi": c_loss, "extension": ext_loss, "exports": exports_loss,
             "front": lambda: mixup_cuda.cross_entropy_with_grad(z, la, lb, ll)}
    if ops is not None:  # logits that require grad: the op computes the gradient too, as with_grad does
        zr = z.clone().requires_grad_()
        _optional(cands, "front_op", lambda: ops.loss_call(zr, la, lb, ll, None, 0.0, "mean", -100))
    ls = _timed(cands, calls, rounds, sync)
    lib.mixup_destroy(ch)
    lib.mixup_loss_destroy(lch)
    mixup_cuda.set_num_threads(threads)
    return {"op": op, "loss": ls}


def verdicts(result):
    """{case: (extension − C µs, "PASS"/"FAIL")} against TARGET_US."""
    return {case: (t["extension"] - t["c_abi"], "PASS" if t["extension"] - t["c_abi"] <= TARGET_US else "FAIL")
            for case, t in result.items()}


def rows(result, device):
    """Markdown rows under HEADER."""
    shapes = {"op": "op x [2, 1, 2, 2], 7 tensors", "loss": "loss [2, 10], 6 tensors"}
    out = []
    for case, (over, verdict) in verdicts(result).items():
        t = result[case]
        front_op = f"{t['front_op']:.2f}" if "front_op" in t else "—"
        out.append(f"| {shapes[case]} ({device}) | {t['c_abi']:.2f} | {t['extension']:.2f} | {t['exports']:.2f} | "
                   f"{t['front']:.2f} | {front_op} | {over:.2f} | {over - t['exports']:.2f} | "
                   f"{verdict} (<= {TARGET_US:g} µs) |")
    return out


HEADER = ("| case | C ABI (ctypes) µs | extension µs | torch's DLPack exports µs | front µs | front via custom op µs "
          "| extension − C µs | of it the binding's own µs | verdict |\n|---|---:|---:|---:|---:|---:|---:|---:|---|")


def main():
    import argparse

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=15)
    a = p.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, mixup_cuda {mixup_cuda.__version__}, {a.rounds} rounds of {a.calls} calls, "
          f"median round")
    print(HEADER)
    print("\n".join(rows(measure(a.device, a.calls, a.rounds), a.device)))


if __name__ == "__main__":
    main()
