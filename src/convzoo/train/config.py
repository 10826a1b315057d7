"""Every training hyperparameter in one typed place, with its unit."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..errors import ConvzooError

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("constant", "step", "cosine", "onecycle")
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass
class TrainConfig:
    # what
    model: str = "lenet_modern"
    model_kwargs: dict = field(default_factory=dict)
    data: str = "fashion-mnist"
    data_dir: str | None = None
    val_split: float = 0.0  # fraction of the training set held out for validation
    test_holdout: float | None = None  # fraction (or count) of train used as test when there is none
    # optimisation
    epochs: int = 10
    batch_size: int = 128  # examples per step (per process)
    lr: float = 0.1  # peak learning rate
    optimizer: str = "sgd"
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4  # decoupled for AdamW, L2 for SGD; not applied to norms and biases
    schedule: str = "cosine"
    warmup_epochs: float = 0.0  # linear warm-up from lr/25 (onecycle default: 30% of the run)
    step_epochs: int = 30  # 'step' schedule: multiply by step_gamma every this many epochs
    step_gamma: float = 0.1
    label_smoothing: float = 0.0
    augment: str = "none"  # none | flip | crop[N] | crop+flip | auto
    # numerics and speed
    precision: str = "auto"  # fp32 | bf16 | auto: the faster on this machine (bf16 tried where native)
    channels_last: bool | None = None  # None: the faster of NHWC and NCHW on this machine (train/tune.py)
    threads: int = 0  # 0: torch's default (one per physical core)
    compile: bool = False  # torch.compile the training step's model (first step timed separately)
    # evaluation
    ema: float = 0.0  # decay per step of an exponential moving average of the weights; 0 = off
    tta: bool = False  # final test evaluation averages logits over flip (if label-safe) and shifts
    # reproducibility
    seed: int = 0
    deterministic: bool = False
    # output
    out: str | None = None  # run directory; default runs/<model>-<data>-<time>
    progress: bool | None = None  # None: a bar only when stderr is a terminal

    def __post_init__(self):
        checks = [
            (self.optimizer in OPTIMIZERS, f"--optimizer must be one of {', '.join(OPTIMIZERS)}"),
            (self.schedule in SCHEDULES, f"--schedule must be one of {', '.join(SCHEDULES)}"),
            (self.precision in PRECISIONS, f"--precision must be one of {', '.join(PRECISIONS)}"),
            (self.epochs >= 1, "--epochs must be at least 1"),
            (self.batch_size >= 1, "--batch-size must be at least 1"),
            (self.lr > 0, "--lr must be positive"),
            (0 <= self.label_smoothing < 1, "--label-smoothing must be in [0, 1)"),
            (self.weight_decay >= 0, "--weight-decay must be non-negative"),
            (0 <= self.warmup_epochs <= self.epochs, "--warmup-epochs must be within the run"),
            (0 <= self.ema < 1, "--ema must be a decay in [0, 1) (0 = off, e.g. 0.999)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConvzooError(message)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
