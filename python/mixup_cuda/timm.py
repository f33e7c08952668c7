"""A drop-in for timm's ``timm.data.Mixup`` (same arguments, same call contract), on the fused op.

    mixup_fn = mixup_cuda.timm.Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1, num_classes=1000)
    x, target = mixup_fn(x, target)     # target: smoothed soft rows [N, num_classes]
    loss = SoftTargetCrossEntropy()(model(x), target)   # or mixup_cuda.soft_cross_entropy

What is the same as timm: sample i is paired with N − 1 − i (the library's flip pairing), λ is
not folded (λ ~ Beta(α, α) on all of (0, 1)), mode "batch" / "pair" / "elem" shares one draw
per batch / pair / sample, each draw is mixed with probability ``prob`` and is CutMix with
probability ``switch_prob`` when both alphas are set, CutMix's λ is the kept fraction of the
image (``correct_lam``, always with ``cutmix_minmax``), and the targets are timm's
``mixup_target``: λ·smooth(onehot(y)) + (1 − λ)·smooth(onehot(y.flip(0))) with
smooth(t) = (1 − ε)·t + ε/C. ``mixup_enabled = False`` turns mixing off (targets still smoothed).

Different by design: the draws come from the library's counter-based Philox streams, not
NumPy's global generator (``seed=`` fixes them; same seed and step, same draws, on CPU and
GPU); with ``cutmix_minmax`` the box sides are uniform on [⌊H·lo⌋, ⌊H·hi⌋] *inclusive* (timm's
``np.random.randint`` excludes the upper bound), and an odd batch pairs its middle sample with
itself where timm refuses it (so is it refused here too, to keep the contract); x is returned
mixed in a new tensor (timm mixes x in place) unless ``in_place=True``, which copies the
result back into x.
"""
from .mixup import Mixup as _Mixup

_MODES = {"batch": "batch", "pair": "pair", "elem": "sample"}


class Mixup:
    def __init__(self, mixup_alpha=1.0, cutmix_alpha=0.0, cutmix_minmax=None, prob=1.0, switch_prob=0.5,
                 mode="batch", correct_lam=True, label_smoothing=0.1, num_classes=1000, *, seed=None,
                 in_place=False):
        if mode not in _MODES:
            raise ValueError(f"mode={mode!r}: choose 'batch', 'pair' or 'elem'")
        if cutmix_minmax is not None:
            cutmix_alpha = 1.0  # as timm: minmax forces cutmix_alpha = 1
        if mixup_alpha > 0 and cutmix_alpha > 0:
            sp = switch_prob
        elif mixup_alpha > 0:
            sp = 0.0
        elif cutmix_alpha > 0:
            sp = 1.0
        else:
            raise ValueError("One of mixup_alpha > 0., cutmix_alpha > 0., cutmix_minmax not None should be true.")
        self.mixup_alpha, self.cutmix_alpha, self.cutmix_minmax = mixup_alpha, cutmix_alpha, cutmix_minmax
        self.mix_prob, self.switch_prob, self.mode, self.correct_lam = prob, switch_prob, mode, correct_lam
        self.label_smoothing, self.num_classes, self.in_place = label_smoothing, num_classes, in_place
        self.mixup_enabled = True
        common = dict(lambda_mode=_MODES[mode], pairing="flip", fold=False, cutmix_alpha=cutmix_alpha if cutmix_alpha > 0
                      else 1.0, cutmix_minmax=cutmix_minmax, correct_lam=correct_lam, label_smoothing=label_smoothing,
                      num_classes=num_classes, targets="onehot")
        alpha = mixup_alpha if mixup_alpha > 0 else 1.0  # unused when every mixed draw is CutMix
        self._on = _Mixup(alpha, prob=prob, switch_prob=sp, seed=seed, **common)
        self._off = _Mixup(alpha, prob=0.0, seed=seed, **common)

    @property
    def last_lam(self):
        """λ of each sample in the last call (timm returns one λ per batch in "batch" mode; here it is repeated)."""
        return (self._on if self.mixup_enabled else self._off).last_lam

    def __call__(self, x, target):
        if len(x) % 2 != 0:
            raise ValueError("Batch size should be even when using this")
        mixer = self._on if self.mixup_enabled else self._off
        out, soft = mixer(x, target)
        if self.in_place:
            x.copy_(out) if hasattr(x, "copy_") else x.__setitem__(Ellipsis, out)
            out = x
        return out, soft
