"""Recipes: named TrainConfig presets, each choice with the reason it was made.

`convzoo train --recipe NAME` starts from a recipe's values; explicit flags override them. The
numbers behind the choices (time to accuracy on a 2-core CPU) are in docs/speed.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import TrainConfig


@dataclass(frozen=True)
class Recipe:
    name: str
    summary: str
    settings: dict  # TrainConfig field -> (value, why)

    def values(self) -> dict:
        return {key: value for key, (value, _) in self.settings.items()}

    def config(self, **overrides) -> TrainConfig:
        return TrainConfig(**{**self.values(), **overrides})


_SHARED = {
    "model": ("fastnet", "convzoo's residual net for 28x28: two stages, pooling early, ~0.4 M parameters"),
    "data": ("fashion-mnist", "the recipe's target; any 28x28 grey dataset works"),
    "optimizer": ("sgd", ("SGD + Nesterov momentum with BN trains this net as fast as AdamW and "
                         "generalises a little better at high learning rates")),
    "momentum": (0.9, "the standard; higher made the short runs unstable at the peak lr"),
    "nesterov": (True, "a little better than heavy-ball at the same lr in short runs"),
    "schedule": ("onecycle", ("warm up then anneal to ~0: a short run ends on a low lr, which is "
                             "where most of its accuracy comes from")),
    "label_smoothing": (0.1, "softer targets: +0.2-0.4 points here and calibrated logits for TTA"),
    "precision": ("auto", "bf16 autocast where the CPU has AVX512-BF16 or AMX (2x the fp32 step here)"),
    "channels_last": (True, "oneDNN's convolutions are fastest in NHWC"),
    "tta": (True, "flip + 1-pixel shifts at the final evaluation: +0.2-0.4 points for ~2 s"),
}

RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe("fast", "Fashion-MNIST >= 0.91 test accuracy in about a minute on 2 CPU cores", {
        **_SHARED,
        "epochs": (4, "the fewest epochs that reach 0.91 with margin (docs/speed.md)"),
        "batch_size": (256, ("large enough for efficient convolutions on 2 cores, small enough "
                            "for ~230 steps per epoch")),
        "lr": (0.2, "the peak of the one-cycle; 0.4 diverged early in some seeds"),
        "weight_decay": (5e-4, "the usual for SGD on small nets; on conv and linear weights only"),
        "augment": ("flip", "random flips are free; shifts slow down a 4-epoch run's convergence"),
        "ema": (0.0, "off: the one-cycle's annealed end already averages; EMA gave nothing in 4 epochs"),
    }),
    Recipe("accurate", "Fashion-MNIST >= 0.93 test accuracy in a few minutes on 2 CPU cores", {
        **_SHARED,
        "epochs": (16, "enough for the shifts to pay off (docs/speed.md)"),
        "batch_size": (256, "the same choice as the fast recipe"),
        "lr": (0.2, "the same choice as the fast recipe"),
        "weight_decay": (5e-4, "the same choice as the fast recipe"),
        "augment": ("crop1+flip", "1-pixel shifts and flips: the net stops overfitting after ~8 epochs"),
        "ema": (0.0, "off: no gain measured on top of the one-cycle anneal"),
    }),
)}
