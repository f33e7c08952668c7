"""The README's examples run: the PyTorch training loop (one short epoch on a Fashion-MNIST
subset) and the fastai-style callback driven through fastai's callback order."""
import os
import re
import subprocess
import sys
import types

import pytest
import torch
import torch.nn.functional as F

EXAMPLES = os.path.join(os.environ.get("MIXUP_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")),
                        "examples", "python")
DATA = "/usr/share/datasets/fashion-mnist"


@pytest.mark.skipif(not os.path.exists(f"{DATA}/train-images-idx3-ubyte.gz"),
                    reason="Fashion-MNIST missing: install dataset-fashion-mnist (scripts/setup)")
def test_training_example_learns_in_one_short_epoch():
    r = subprocess.run([sys.executable, os.path.join(EXAMPLES, "train_fashion_mnist.py"), "--limit", "3072"],
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    loss = float(re.search(r"train_loss (\S+)", r.stdout).group(1))
    assert loss < 2.2, r.stdout  # below log(10) = 2.303, chance level: it learned something


def test_fastai_style_callback():
    sys.path.insert(0, EXAMPLES)
    from fastai_callback import FusedMixUp

    learn = types.SimpleNamespace(loss_func=F.cross_entropy, training=True)
    # seed 0: its first permutation of 6 moves every sample (seed 1's first one happens to be
    # the identity, 1 chance in 720, and then x could come back unchanged); x seeded too
    torch.manual_seed(0)
    cb = FusedMixUp(0.4, seed=0, num_classes=3)
    cb.learn = learn
    x, y = torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    cb.before_train()
    learn.xb, learn.yb = (x,), (y,)
    cb.before_batch()
    assert not torch.equal(learn.xb[0], x) and torch.equal(learn.yb[0], y)
    pred = torch.randn(6, 3, requires_grad=True)
    loss = learn.loss_func(pred, *learn.yb)
    lam = cb.lam.double()
    want = (lam * F.cross_entropy(pred.double(), y, reduction="none")
            + (1 - lam) * F.cross_entropy(pred.double(), cb.y_b, reduction="none")).mean()
    torch.testing.assert_close(loss.double(), want, rtol=2e-6, atol=2e-6)
    learn.training = False  # validation: plain loss, batch untouched
    learn.xb = (x,)
    cb.before_batch()
    assert learn.xb[0] is x
    torch.testing.assert_close(learn.loss_func(pred, y), F.cross_entropy(pred, y))
    cb.after_train()
    assert learn.loss_func is F.cross_entropy
