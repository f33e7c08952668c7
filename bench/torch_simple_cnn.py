#!/usr/bin/python3
"""The trainer's experiment in PyTorch, for comparison with mixup-train on the same machine.

fastai v1's simple_cnn (3x3 stride-2 convs with padding 1, ReLU after each, adaptive average
pool, flatten), PyTorch's default conv init, AdamW (betas 0.9/0.99, eps 1e-8, decoupled weight
decay), batch 64, lr 3e-3, Fashion-MNIST normalised with (0.2860, 0.3530), and fastai v1's
MixUpCallback / MixUpLoss written out: lambda ~ Beta(a, a) per sample, folded, partner = the
batch shuffled, loss = lam*CE(z, y_a) + (1-lam)*CE(z, y_b), mean. Validation is never mixed.

Prints one line per epoch (train loss, valid loss, accuracy, train seconds, epoch seconds)
and a summary line `best_acc final_valid_loss mean_train_s`; --log FILE appends the epochs in
mixup-train's CSV format (run,epoch,train_loss,valid_loss,accuracy,time; run = no_mixup or
mixup), so scripts/summarize_experiment.py reads both. Needs Debian's python3-torch
(`apt-get install python3-torch`); nothing in the build or the tests depends on it.
"""
import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(data_dir, prefix):
    def find(stem):
        for name in (stem, stem + ".gz"):
            p = os.path.join(data_dir, name)
            if os.path.exists(p):
                return p
        sys.exit(f"{stem} not found in {data_dir}")
    x = read_idx(find(f"{prefix}-images-idx3-ubyte"))
    y = read_idx(find(f"{prefix}-labels-idx1-ubyte"))
    return torch.from_numpy(x.copy()), torch.from_numpy(y.astype(np.int64))


def simple_cnn(actns, last_relu):
    layers = []
    for i in range(len(actns) - 1):
        layers.append(nn.Conv2d(actns[i], actns[i + 1], 3, stride=2, padding=1))
        if i + 2 < len(actns) or last_relu:
            layers.append(nn.ReLU())
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--bs", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--wd", type=float, default=1e-2)
    ap.add_argument("--alpha", type=float, default=0.4)
    ap.add_argument("--mixup", choices=["on", "off"], default="off")
    ap.add_argument("--arch", default="1,16,16,10")
    ap.add_argument("--last-relu", choices=["on", "off"], default="on")
    ap.add_argument("--train-limit", type=int, default=-1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log", default=None)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    xtr, ytr = load(a.data, "train")
    xva, yva = load(a.data, "t10k")
    if a.train_limit > 0:
        xtr, ytr = xtr[:a.train_limit], ytr[:a.train_limit]

    def norm(u8):  # what mixup-train's uint8 path computes: (v/255 - mean)/std
        return ((u8.float() / 255.0 - 0.2860) / 0.3530).unsqueeze(1)

    model = simple_cnn([int(c) for c in a.arch.split(",")], a.last_relu == "on")
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.99), eps=1e-8, weight_decay=a.wd)
    n = xtr.shape[0]
    best, final_valid, train_times = 0.0, float("nan"), []
    print("epoch  train_loss  valid_loss  accuracy  train_s  epoch_s", flush=True)
    for epoch in range(a.epochs):
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(n)
        loss_sum = 0.0
        for i in range(0, n, a.bs):
            idx = order[i:i + a.bs]
            x, y = norm(xtr[idx]), ytr[idx]
            if a.mixup == "on":
                lam = rng.beta(a.alpha, a.alpha, x.shape[0])
                lam = torch.from_numpy(np.maximum(lam, 1 - lam)).float()
                perm = torch.randperm(x.shape[0])
                x = x * lam.view(-1, 1, 1, 1) + x[perm] * (1 - lam).view(-1, 1, 1, 1)
                z = model(x)
                la = F.cross_entropy(z, y, reduction="none")
                lb = F.cross_entropy(z, y[perm], reduction="none")
                loss = (la * lam + lb * (1 - lam)).mean()
            else:
                loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * x.shape[0]
        t1 = time.perf_counter()
        model.eval()
        vloss, correct = 0.0, 0
        with torch.no_grad():
            for i in range(0, xva.shape[0], a.bs):
                x, y = norm(xva[i:i + a.bs]), yva[i:i + a.bs]
                z = model(x)
                vloss += F.cross_entropy(z, y, reduction="sum").item()
                correct += (z.argmax(1) == y).sum().item()
        t2 = time.perf_counter()
        acc = correct / xva.shape[0]
        final_valid = vloss / xva.shape[0]
        best = max(best, acc)
        train_times.append(t1 - t0)
        if a.log:
            new = not os.path.exists(a.log)
            with open(a.log, "a") as f:
                if new:
                    f.write("run,epoch,train_loss,valid_loss,accuracy,time\n")
                run = "mixup" if a.mixup == "on" else "no_mixup"
                f.write(f"{run},{epoch},{loss_sum / n:.6f},{final_valid:.6f},{acc:.4f},{t2 - t0:.5f}\n")
        print(f"{epoch:5d}  {loss_sum / n:10.6f}  {final_valid:10.6f}  {acc:8.4f}  {t1 - t0:7.2f}  {t2 - t0:7.2f}", flush=True)
    print(f"summary best_acc {best:.4f} final_valid_loss {final_valid:.4f} mean_train_s {np.mean(train_times):.2f}")


if __name__ == "__main__":
    main()
