#!/usr/bin/env python3
"""The binding on a GPU (scripts/gpu-check-python runs it; UNVERIFIED: written without a GPU).
Device time per call with CUDA events (mean of REPS after warm-up) for the op through the
binding vs fastai v1's and timm's eager mixup, and the loss (forward + backward) vs two
F.cross_entropy; and the host time per call of a tiny batch, through the full Python front
(Mixup.__call__) and through the extension alone (_C.Handle.apply, outputs preallocated),
to set against bench_mixup's C call for the binding's overhead (target: <= 5 us)."""
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

import mixup_cuda

dev = torch.device("cuda")
REPS = 50
rows = []


def device_time(fn):
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record()
    for _ in range(REPS):
        fn()
    e.record()
    e.synchronize()
    return s.elapsed_time(e) / REPS * 1e3  # us


def host_time(fn, n=2000):
    for _ in range(50):
        fn()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t) / n * 1e6


def op_rows(n, h):
    x, y = torch.randn(n, 3, h, h, device=dev), torch.randint(0, 10, (n,), device=dev)
    xt = x.clone()
    m = mixup_cuda.Mixup(0.4, num_classes=10, seed=0, checks="deferred")

    def fastai_v1():
        lam = np.random.beta(0.4, 0.4, n)
        lam = torch.from_numpy(np.maximum(lam, 1 - lam)).float().to(dev).view(-1, 1, 1, 1)
        perm = torch.randperm(n).to(dev)
        return x * lam + x[perm] * (1 - lam)

    def timm():
        lam = float(np.random.beta(1.0, 1.0))
        xf = xt.flip(0).mul_(1 - lam)
        xt.mul_(lam).add_(xf)

    fused = device_time(lambda: m(x, y))
    for name, fn in (("fastai_v1", fastai_v1), ("timm", timm)):
        t = device_time(fn)
        rows.append({"case": f"op [{n},3,{h},{h}]", "fused_us": fused, "peer": name, "peer_us": t, "ratio": t / fused})


def loss_rows(b, c):
    z = torch.randn(b, c, device=dev, requires_grad=True)
    y_a, y_b, lam = (torch.randint(0, c, (b,), device=dev), torch.randint(0, c, (b,), device=dev),
                     torch.rand(b, device=dev))
    fused = device_time(lambda: mixup_cuda.cross_entropy(z, y_a, y_b, lam).backward())
    t = device_time(lambda: (lam * F.cross_entropy(z, y_a, reduction="none")
                             + (1 - lam) * F.cross_entropy(z, y_b, reduction="none")).mean().backward())
    rows.append({"case": f"loss [{b},{c}]", "fused_us": fused, "peer": "two_ce", "peer_us": t, "ratio": t / fused})


def overhead_rows():
    x, y = torch.randn(2, 3, 8, 8, device=dev), torch.randint(0, 10, (2,), device=dev)
    m = mixup_cuda.Mixup(0.4, num_classes=10, seed=0, checks="deferred")
    front = host_time(lambda: m(x, y))
    h = mixup_cuda._C.Handle(backend=1, device=0, alpha=0.4, lambda_mode=0, pairing=0, fold=True, seed=0,
                             rank_salt=0, label_smoothing=0.0, num_classes=10, max_batch=2, deferred_checks=True)
    out, y32 = torch.empty_like(x), y.int()
    y_a, y_b, lam = torch.empty(2, dtype=torch.int32, device=dev), torch.empty(2, dtype=torch.int32, device=dev), \
        torch.empty(2, device=dev)
    stream = torch.cuda.current_stream().cuda_stream
    dl = torch.utils.dlpack.to_dlpack
    raw = host_time(lambda: h.apply(dl(x), dl(out), mode=1, labels=dl(y32), y_a=dl(y_a), y_b=dl(y_b), lam=dl(lam),
                                    stream=stream))
    rows.append({"case": "host us per call, batch 2x3x8x8", "front_us": front, "extension_us": raw})


def main():
    if not torch.cuda.is_available() or mixup_cuda.cuda_device_count() == 0:
        print("bench_gpu: no CUDA device (torch or the library sees none): nothing timed")
        return
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, mixup_cuda {mixup_cuda.__version__}")
    op_rows(64, 28)
    op_rows(64, 224)
    loss_rows(8192, 1000)
    overhead_rows()
    for r in rows:
        print(" | ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()))
    if len(sys.argv) > 1:
        json.dump(rows, open(sys.argv[1], "w"), indent=1)


if __name__ == "__main__":
    main()
