#!/usr/bin/env python3
"""The binding on a GPU (scripts/gpu-check-python runs it; UNVERIFIED: written without a GPU).
Device time per call with CUDA events (mean of REPS after warm-up) for the op through the
binding vs fastai v1's and timm's eager mixup, and the loss (forward + backward) vs two
F.cross_entropy; and the binding's overhead over the C call on a tiny batch (overhead.py:
the C ABI through ctypes vs the extension vs the public call, host time per call), with a
PASS/FAIL verdict against 5 us per call, printed and written beside the JSON as
<json stem>_verdict.md."""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

import mixup_cuda

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import overhead  # noqa: E402

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
    """The binding's overhead over the C call (bench/python/overhead.py) on the GPU: host time per
    call, kernels queued on the current stream; PASS/FAIL against 5 us per call."""
    result = overhead.measure("cuda", calls=2000, rounds=15)
    for case, (over, verdict) in overhead.verdicts(result).items():
        rows.append({"case": f"overhead {case}", **{f"{k}_us": v for k, v in result[case].items()},
                     "overhead_us": over, "target_us": overhead.TARGET_US, "verdict": verdict})
    return overhead.HEADER + "\n" + "\n".join(overhead.rows(result, "cuda"))


def main():
    if not torch.cuda.is_available() or mixup_cuda.cuda_device_count() == 0:
        print("bench_gpu: no CUDA device (torch or the library sees none): nothing timed")
        return
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, mixup_cuda {mixup_cuda.__version__}")
    try:  # first: the row with a verdict
        table = overhead_rows()
    except Exception as e:  # noqa: BLE001 — a failed measurement is a FAIL row, not a lost report
        rows.append({"case": "overhead (not measured)", "overhead_us": float("nan"), "target_us": overhead.TARGET_US,
                     "verdict": f"FAIL ({type(e).__name__}: {e})"})
        table = ""
    try:
        op_rows(64, 28)
        op_rows(64, 224)
        loss_rows(8192, 1000)
    finally:
        report(table, sys.argv[1] if len(sys.argv) > 1 else None)


def report(table, json_path):
    for r in rows:
        print(" | ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()))
    verdict = ["| target | measured | verdict |", "|---|---:|---|"]
    verdict += [f"| binding overhead over the C call, {r['case'][9:]} (<= {r['target_us']:g} us per call) | "
                f"{r['overhead_us']:.2f} us | {r['verdict']} |" for r in rows if "verdict" in r]
    text = "## Python binding on the GPU: verdict\n\n" + "\n".join(verdict) + "\n\n" + table + "\n"
    print(text)
    if json_path:
        json.dump(rows, open(json_path, "w"), indent=1)
        with open(json_path.rsplit(".", 1)[0] + "_verdict.md", "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
