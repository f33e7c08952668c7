#!/usr/bin/env python3
"""The fused op and loss through the Python binding against the eager PyTorch peers, on the
CPU, in one run. Candidates of one row are timed in interleaved rounds (each round runs every
candidate `iters` times; the median round counts), so drift on a shared machine hits them
alike; each ratio is peer time / fused time from this run.

  PYTHONPATH=build/ci/python /usr/bin/python3 bench/python/bench_cpu.py [--rounds 7] [--threads N]

op rows (x f32 [N, 3, H, W], int64 labels, stacked or soft targets):
  fused       mixup_cuda.Mixup(0.4)(x, y) -> x_mixed, y_a, y_b, lam (one call)
  fastai_v1   numpy Beta per sample, fold, randperm, x*l + x[perm]*(1-l), stacked targets
  timm        timm batch mode: one numpy λ, x.flip(0).mul_(1-l); x.mul_(l).add_(xf) in place, mixup_target
  tv_v2       torchvision v2 MixUp: one torch Beta λ, x.roll(1,0).mul_(1-l).add_(x.mul(l)), one-hot blend
  fused_timm  mixup_cuda.timm.Mixup(...)(x, y): the drop-in, soft targets
loss rows (logits f32 [B, C], forward + backward):
  fused       mixup_cuda.cross_entropy(z, y_a, y_b, lam).backward()
  two_ce      (lam*F.cross_entropy(z, y_a, 'none') + (1-lam)*F.cross_entropy(z, y_b, 'none')).mean().backward()
  soft_ce     (-(t * log_softmax(z)).sum(1)).mean().backward(), t = mixup_target (timm's SoftTargetCrossEntropy)
"""
import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

import mixup_cuda
import mixup_cuda.timm


def one_hot_blend(y, n_cls, lam, eps=0.1):
    off = eps / n_cls
    y1 = torch.full((len(y), n_cls), off).scatter_(1, y.view(-1, 1), 1 - eps + off)
    return y1 * lam + y1.flip(0) * (1 - lam)


def timed(cands, iters, rounds):
    per = {k: [] for k in cands}
    for fn in cands.values():
        fn()  # warm-up
    for _ in range(rounds):
        for k, fn in cands.items():
            t = time.perf_counter()
            for _ in range(iters):
                fn()
            per[k].append((time.perf_counter() - t) / iters)
    return {k: statistics.median(v) for k, v in per.items()}


def op_row(n, h, rounds):
    x, y = torch.randn(n, 3, h, h), torch.randint(0, 10, (n,))
    xt = x.clone()  # timm and torchvision mix in place: their own copy
    fused = mixup_cuda.Mixup(0.4, num_classes=10, seed=0)
    drop_in = mixup_cuda.timm.Mixup(mixup_alpha=1.0, num_classes=10, seed=0)

    def fastai_v1():
        lam = np.random.beta(0.4, 0.4, n)
        lam = torch.from_numpy(np.maximum(lam, 1 - lam)).float()
        perm = torch.randperm(n)
        lv = lam.view(-1, 1, 1, 1)
        out = x * lv + x[perm] * (1 - lv)
        return out, torch.stack([y.float(), y[perm].float(), lam], 1)

    def timm():
        lam = float(np.random.beta(1.0, 1.0))
        xf = xt.flip(0).mul_(1 - lam)
        xt.mul_(lam).add_(xf)
        return xt, one_hot_blend(y, 10, lam)

    beta = torch.distributions.Beta(torch.tensor([1.0]), torch.tensor([1.0]))

    def tv_v2():
        lam = float(beta.sample(()))
        out = xt.roll(1, 0).mul_(1.0 - lam).add_(xt.mul(lam))
        oh = F.one_hot(y, 10).float()
        return out, oh.roll(1, 0).mul_(1.0 - lam).add_(oh.mul(lam))

    cands = {"fused": lambda: fused(x, y), "fastai_v1": fastai_v1, "timm": timm, "tv_v2": tv_v2,
             "fused_timm": lambda: drop_in(x, y)}
    iters = max(3, int(2e6 / x.numel()))
    return f"op  x [{n}, 3, {h}, {h}]", timed(cands, iters, rounds)


def loss_row(b, c, rounds):
    g = torch.Generator().manual_seed(0)
    z0, y_a, y_b, lam = torch.randn(b, c, generator=g), torch.randint(0, c, (b,)), torch.randint(0, c, (b,)), torch.rand(b)
    t = one_hot_blend(y_a, c, lam.view(-1, 1), eps=0.0)
    z = z0.clone().requires_grad_()

    def fused():
        mixup_cuda.cross_entropy(z, y_a, y_b, lam).backward()

    def two_ce():
        (lam * F.cross_entropy(z, y_a, reduction="none") + (1 - lam) * F.cross_entropy(z, y_b, reduction="none")).mean().backward()

    def soft_ce():
        (-(t * F.log_softmax(z, dim=1)).sum(1)).mean().backward()

    iters = max(3, int(2e6 / z.numel()))
    return f"loss logits [{b}, {c}] fwd+bwd", timed({"fused": fused, "two_ce": two_ce, "soft_ce": soft_ce}, iters, rounds)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--threads", type=int, default=0, help="threads for both libraries (0: torch's default)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    mixup_cuda.set_num_threads(torch.get_num_threads())  # the same cores for both
    print(f"torch {torch.__version__}, mixup_cuda {mixup_cuda.__version__} (CPU backend), {torch.get_num_threads()} thread(s) each")
    print("| case | fused µs | peer | peer µs | peer / fused |\n|---|---:|---|---:|---:|")
    rows = [op_row(64, 32, a.rounds), op_row(128, 64, a.rounds), op_row(2, 8, a.rounds),
            loss_row(256, 10, a.rounds), loss_row(256, 1000, a.rounds)]
    for name, t in rows:
        for k, v in t.items():
            if k != "fused":
                print(f"| {name} | {t['fused'] * 1e6:.1f} | {k} | {v * 1e6:.1f} | {v / t['fused']:.2f} |")


if __name__ == "__main__":
    main()
