#!/usr/bin/env python3
"""(First written for the 2026-11-30 H200 run; scripts/gpu-check runs it beside the benches.)
PyTorch on the GPU, the peers' mixup paths, timed the way bench_mixup / bench_cross_entropy
time the library: CUDA events around each call, L2 flushed (256 MiB memset) before each call,
mean of REPS calls after warm-up. Prints one table; every figure is from this one run.

  copy       dst.copy_(src) of the same size (reads N, writes N): the bandwidth floor's basis
  v1         fastai v1 MixUpCallback (numpy Beta on host, x.new(lam) H2D, randperm H2D, x[perm], x*l + x1*(1-l))
  v2         fastai v2 MixUp (torch Beta on CPU .to(dev), randperm .to(dev), torch.lerp(x[perm], x, lam))
  timm       timm Mixup batch mode (one numpy lam, x.flip(0).mul_(1-l); x.mul_(l).add_(xf), in place)
  v2pre      fastai v2 math, everything on the device, preallocated outputs (best eager)
  compiled   torch.compile of the on-device blend (lam and perm drawn on the device)
  dual CE    (lam*CE(z,ya,'none') + (1-lam)*CE(z,yb,'none')).mean().backward()  (fastai MixUpLoss)
  dual1lsm   one log_softmax + two gathers, backward
  ce_compiled torch.compile of dual1lsm's forward+backward
  train step simple_cnn(1,16,16,10) (fastai v1 conv2d_relu x3, adaptive avg pool), AdamW,
             bs 64/256 1x28x28, with / without fastai-v1 mixup (on-device lam+perm), per step
Floor for the blend = (2N read + N write) / copy bandwidth; for CE = (read B*C + write B*C).
"""
import sys, time, json
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Beta

dev = torch.device("cuda")
REPS = 30
ALPHA = 0.4
flush_buf = torch.empty(256 << 20, dtype=torch.uint8, device=dev)
rows = []


def save():
    """Written after every section, so a run stopped at its time limit still leaves its rows."""
    json.dump(rows, open(sys.argv[1] if len(sys.argv) > 1 else "/dev/null", "w"))


def timed(fn, reps=REPS, warm=3, flush=True):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    total = 0.0
    for _ in range(reps):
        if flush:
            flush_buf.zero_()
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        e.synchronize()
        total += s.elapsed_time(e)
    return total / reps * 1e-3  # seconds per call


def copy_bw(nbytes):
    a = torch.empty(nbytes, dtype=torch.uint8, device=dev)
    b = torch.empty_like(a)
    t = timed(lambda: b.copy_(a))
    return 2 * nbytes / t


print(torch.__version__, torch.cuda.get_device_name(0), flush=True)

# ---------------------------------------------------------------- blend
_beta = Beta(torch.tensor(ALPHA), torch.tensor(ALPHA))
_beta_dev = Beta(torch.tensor(ALPHA, device=dev), torch.tensor(ALPHA, device=dev))


def v1(x):
    bs = x.size(0)
    lam = np.random.beta(ALPHA, ALPHA, bs)
    lam = np.concatenate([lam[:, None], 1 - lam[:, None]], 1).max(1)
    lam = x.new(lam)
    shuffle = torch.randperm(bs).to(x.device)
    x1 = x[shuffle]
    return x * lam.view(-1, 1, 1, 1) + x1 * (1 - lam).view(-1, 1, 1, 1)


def v2(x):
    bs = x.size(0)
    lam = _beta.sample((bs,)).squeeze().to(x.device)
    lam = torch.stack([lam, 1 - lam], 1).max(1)[0]
    shuffle = torch.randperm(bs).to(x.device)
    return torch.lerp(x[shuffle], x, lam.view(-1, 1, 1, 1).to(x.dtype))


def timm_(x):
    lam = float(np.random.beta(ALPHA, ALPHA))
    xf = x.flip(0).mul_(1.0 - lam)
    x.mul_(lam).add_(xf)
    return x


def make_v2pre(x):
    buf, out = torch.empty_like(x), torch.empty_like(x)

    def f(x=x):
        bs = x.size(0)
        lam = _beta_dev.sample((bs,))
        lam = torch.maximum(lam, 1 - lam)
        shuffle = torch.randperm(bs, device=x.device)
        torch.index_select(x, 0, shuffle, out=buf)
        return torch.lerp(buf, x, lam.view(-1, 1, 1, 1).to(x.dtype), out=out)
    return f


@torch.compile(dynamic=False)
def _blend_compiled(x, lam, perm):
    l = lam.view(-1, 1, 1, 1).to(x.dtype)
    return x * l + x[perm] * (1 - l)


def compiled(x):
    bs = x.size(0)
    lam = _beta_dev.sample((bs,))
    lam = torch.maximum(lam, 1 - lam)
    perm = torch.randperm(bs, device=x.device)
    return _blend_compiled(x, lam, perm)


def blend_rows(shape, dtype, with_compile):
    x = torch.randn(shape, device=dev).to(dtype)
    n = x.numel() * x.element_size()
    bw = copy_bw(n)
    floor = 3 * n / bw
    res = {"copy": 2 * n / bw}
    res["v1"] = timed(lambda: v1(x))
    res["v2"] = timed(lambda: v2(x))
    xt = x.clone()
    res["timm"] = timed(lambda: timm_(xt))
    res["v2pre"] = timed(make_v2pre(x))
    if with_compile:
        try:
            t0 = time.time()
            compiled(x)
            torch.cuda.synchronize()
            print(f"  compile {time.time()-t0:.1f}s", flush=True)
            res["compiled"] = timed(lambda: compiled(x))
        except Exception as ex:  # keep the rest of the table
            print("  compile failed:", repr(ex)[:200], flush=True)
    name = "x".join(map(str, shape)) + "/" + str(dtype).replace("torch.", "")
    for k, t in res.items():
        rows.append(("blend", name, k, t * 1e6, floor / t if k != "copy" else float("nan"), bw / 1e12))
        print(f"blend {name:22s} {k:9s} {t*1e6:10.1f} us  floor/t={floor/t:6.3f}  copyBW={bw/1e12:.2f} TB/s", flush=True)


for shape, dt, comp in [((64, 3, 224, 224), torch.float32, True), ((64, 3, 224, 224), torch.bfloat16, False),
                        ((256, 3, 32, 32), torch.float32, False), ((64, 3, 28, 28), torch.float32, False)]:
    blend_rows(shape, dt, comp)
    save()

# ---------------------------------------------------------------- dual CE
def ce_rows(B, C, with_compile):
    z0 = torch.randn(B, C, device=dev)
    ya = torch.randint(0, C, (B,), device=dev)
    yb = torch.randint(0, C, (B,), device=dev)
    lam = torch.rand(B, device=dev) * 0.5 + 0.5
    n = z0.numel() * 4
    bw = copy_bw(max(n, 1 << 20))
    floor = 2 * n / bw
    z = z0.clone().requires_grad_(True)

    def dual():
        z.grad = None
        l = (lam * F.cross_entropy(z, ya, reduction="none") + (1 - lam) * F.cross_entropy(z, yb, reduction="none")).mean()
        l.backward()

    def dual1():
        z.grad = None
        lp = F.log_softmax(z, 1)
        l = -(lam * lp.gather(1, ya[:, None])[:, 0] + (1 - lam) * lp.gather(1, yb[:, None])[:, 0]).mean()
        l.backward()

    def single():
        z.grad = None
        F.cross_entropy(z, ya).backward()

    res = {"dual": timed(dual), "dual1lsm": timed(dual1), "single": timed(single)}
    if with_compile:
        try:
            @torch.compile(dynamic=False)
            def fb(z, ya, yb, lam):
                lp = F.log_softmax(z, 1)
                p = lp.exp()
                loss = -(lam * lp.gather(1, ya[:, None])[:, 0] + (1 - lam) * lp.gather(1, yb[:, None])[:, 0]).mean()
                oh = lam[:, None] * F.one_hot(ya, z.size(1)) + (1 - lam)[:, None] * F.one_hot(yb, z.size(1))
                return loss, (p - oh) / z.size(0)
            t0 = time.time()
            fb(z0, ya, yb, lam)
            torch.cuda.synchronize()
            print(f"  compile {time.time()-t0:.1f}s", flush=True)
            res["compiled_fwdbwd"] = timed(lambda: fb(z0, ya, yb, lam))
        except Exception as ex:
            print("  compile failed:", repr(ex)[:200], flush=True)
    for k, t in res.items():
        rows.append(("ce", f"{B}x{C}", k, t * 1e6, floor / t, bw / 1e12))
        print(f"ce    {B}x{C:<17} {k:15s} {t*1e6:10.1f} us  floor/t={floor/t:6.3f}", flush=True)


for B, C, comp in [(8192, 1000, True), (1024, 1000, False), (256, 10, False), (4096, 32768, False)]:
    ce_rows(B, C, comp)
    save()

# ---------------------------------------------------------------- training step
def simple_cnn():
    layers = []
    ch = [1, 16, 16, 10]
    for i in range(3):
        layers += [nn.Conv2d(ch[i], ch[i + 1], 3, 2, 1), nn.ReLU()]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers).to(dev)


def step_rows(bs):
    m = simple_cnn()
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3, betas=(0.9, 0.99), weight_decay=1e-2)
    x = torch.randn(bs, 1, 28, 28, device=dev)
    y = torch.randint(0, 10, (bs,), device=dev)

    def plain():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(m(x), y).backward()
        opt.step()

    def mix():
        lam = _beta_dev.sample((bs,))
        lam = torch.maximum(lam, 1 - lam)
        perm = torch.randperm(bs, device=dev)
        l4 = lam.view(-1, 1, 1, 1)
        xm = x * l4 + x[perm] * (1 - l4)
        opt.zero_grad(set_to_none=True)
        out = m(xm)
        loss = (lam * F.cross_entropy(out, y, reduction="none") + (1 - lam) * F.cross_entropy(out, y[perm], reduction="none")).mean()
        loss.backward()
        opt.step()

    for name, f in [("step_plain", plain), ("step_mixup", mix)]:
        t = timed(f, reps=100, warm=10, flush=False)
        rows.append(("train", f"bs{bs}", name, t * 1e6, float("nan"), float("nan")))
        print(f"train bs{bs:<20} {name:15s} {t*1e6:10.1f} us", flush=True)


for bs in (64, 256):
    step_rows(bs)

save()
