"""fastai's simple_cnn on Fashion-MNIST with the fused mixup op and loss (PyTorch, CPU or GPU).
python3 examples/python/train_fashion_mnist.py [--epochs N] [--limit SAMPLES]"""
import argparse, gzip, time
import numpy as np, torch, torch.nn as nn
import mixup_cuda

def idx(path, limit):  # IDX file: big-endian header, then uint8 data; reads the first `limit` items only
    f = gzip.open(path); ndim = f.read(4)[3]; shape = np.frombuffer(f.read(4 * ndim), ">u4").astype(int)
    shape[0] = min(shape[0], limit)
    return np.frombuffer(f.read(int(np.prod(shape))), np.uint8).reshape(shape)

p = argparse.ArgumentParser()
p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
p.add_argument("--epochs", type=int, default=1); p.add_argument("--limit", type=int, default=60000)
a = p.parse_args()
dev = "cuda" if torch.cuda.is_available() else "cpu"
x = torch.from_numpy(idx(f"{a.data}/train-images-idx3-ubyte.gz", a.limit).copy()).unsqueeze(1)  # uint8 stays uint8
y = torch.from_numpy(idx(f"{a.data}/train-labels-idx1-ubyte.gz", a.limit).astype(np.int64))
conv = lambda i, o: [nn.Conv2d(i, o, 3, 2, 1), nn.ReLU()]  # noqa: E731  fastai v1 conv2d_relu
model = nn.Sequential(*conv(1, 8), *conv(8, 16), *conv(16, 32), *conv(32, 10), nn.AdaptiveAvgPool2d(1), nn.Flatten()).to(dev)
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.99), weight_decay=0.01)
mix = mixup_cuda.Mixup(0.4, num_classes=10, seed=0, normalize=((0.2860,), (0.3530,)))  # uint8 -> normalised f32
for epoch in range(a.epochs):
    t0, total, order = time.time(), 0.0, torch.randperm(len(x))
    for i in range(0, len(x), 64):
        xb, yb = x[order[i : i + 64]].to(dev), y[order[i : i + 64]].to(dev)
        xm, y_a, y_b, lam = mix(xb, yb)  # one fused call: λ, partners, blend, normalise, targets
        loss = mixup_cuda.cross_entropy(model(xm), y_a, y_b, lam)  # loss and gradient in one pass
        opt.zero_grad(); loss.backward(); opt.step(); total += loss.item() * len(xb)
    print(f"epoch {epoch} train_loss {total / len(x):.4f} time {time.time() - t0:.1f}s")
