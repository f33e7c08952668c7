"""fastai's MixUp callback on the fused op and loss: a drop-in for fastai v2's ``MixUp`` (and
v1's ``MixUpCallback``), with fastai's defaults (α = 0.4, per-sample λ folded to max(λ, 1 − λ)).

    learn = Learner(dls, model, loss_func=CrossEntropyLossFlat(), cbs=FusedMixUp(0.4))

Before each training batch it mixes ``learn.xb`` in one call and swaps the loss for the fused
dual-target cross-entropy for the fit; validation batches are left alone. Without fastai it
still runs against any object with fastai's attributes (``xb``, ``yb``, ``loss_func``,
``training``), which is how the tests drive it."""
import mixup_cuda

try:
    from fastai.callback.core import Callback
except ImportError:  # fastai is optional: the callback protocol is duck-typed
    Callback = object


class FusedMixUp(Callback):
    run_valid = False

    def __init__(self, alpha=0.4, **mixup_kwargs):
        self.mix = mixup_cuda.Mixup(alpha, **mixup_kwargs)
        self.y_b = self.lam = None

    def before_train(self):
        self.old_lf, self.learn.loss_func = self.learn.loss_func, self.lf

    def after_train(self):
        self.learn.loss_func = self.old_lf

    def before_batch(self):
        if not self.learn.training:
            return
        x_mixed, y_a, self.y_b, self.lam = self.mix(self.learn.xb[0], self.learn.yb[0])
        self.learn.xb, self.learn.yb = (x_mixed,), (y_a,)

    def lf(self, pred, y_a):
        if not self.learn.training or self.lam is None:
            return self.old_lf(pred, y_a)
        return mixup_cuda.cross_entropy(pred, y_a, self.y_b, self.lam)
