"""Every training hyperparameter in one typed place, with its unit: the single source of the flags.

Each field's metadata holds its help text and its bounds; `convzoo train` generates its flags from
these fields (cli/train.py), and `__post_init__` checks every bound, so a config built in Python
is held to the same rules as one from the command line. Fields marked `resume` may change when a
run is resumed (`--resume RUN --epochs 20`); every other setting belongs to the run.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field

from ..errors import ConvzooError
from ..layers.conv import INITS as WEIGHT_INITS
from .schedule import LECUN98_PASS

OPTIMIZERS = ("sgd", "adamw", "muon", "sdlm")
SCHEDULES = ("constant", "step", "cosine", "onecycle", "lecun98")
LOSSES = ("cross-entropy", "map")
NORMALIZATIONS = ("dataset", "none", "lecun98")
INITS = tuple(WEIGHT_INITS)  # builder | xavier | he
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda")
MAX_EPOCHS = 10_000  # a bound for every path that sets epochs (train, search grids, studies)
MAX_THREADS = max(os.cpu_count() or 1, 1) * 2  # beyond this, threads only wait for each other


def setting(default, help: str, *, choices=None, low=None, high=None, low_open=False, high_open=False,
            resume: bool = False, cli: bool = True, metavar: str | None = None):
    """A config field: its default, its help, its bounds (low/high, open or closed) and whether a
    resumed run may change it."""
    factory = {"default_factory": default} if callable(default) else {"default": default}
    return field(**factory, metadata={"help": help, "choices": choices, "low": low, "high": high,
                                      "low_open": low_open, "high_open": high_open, "resume": resume,
                                      "cli": cli, "metavar": metavar})


@dataclass
class TrainConfig:
    # what
    model: str = setting("lenet_modern", "a registered model (see `convzoo models`)", cli=False)
    model_kwargs: dict = setting(dict, "builder options (--model-arg KEY=VALUE)", cli=False)
    data: str = setting("fashion-mnist", "dataset (see `convzoo data list`)")
    data_dir: str | None = setting(None, "where the dataset's files are (else the usual search)", metavar="DIR")
    train_size: int | None = setting(None, "train on a seeded, class-balanced subset of this many examples",
                                     low=1, metavar="N")
    val_split: float = setting(0.0, "fraction of the training set held out for validation", low=0, high=1,
                               high_open=True)
    test_once: bool = setting(False, "read the test set once, after the last epoch: every other epoch's row carries "
                                     "the validation set's numbers only (the protocol for choices made on --val-split)")
    normalize: str = setting("dataset", "input scaling: dataset ((x - the training set's mean) / its std), none "
                                        "(x / 255 in [0, 1] only, as d2l's ToTensor) or lecun98 (background -0.1, "
                                        "ink 1.175, as LeNet-5's paper)", choices=NORMALIZATIONS)
    test_holdout: float | None = setting(None, "fraction (< 1) or count of train used as the test set when "
                                               "there is none", low=0, low_open=True)
    init: str = setting("builder", "initial weights: the builder's own; xavier: Xavier-uniform for every conv and "
                                   "linear weight (d2l's init_weights; biases kept); he: He-normal (fan-in, ReLU "
                                   "gain) for every conv and linear weight, zero biases", choices=INITS)
    # optimisation
    epochs: int = setting(10, "epochs to train (with --resume: train on to this many)", low=1, high=MAX_EPOCHS,
                          resume=True)
    batch_size: int = setting(128, "examples per optimisation step over all processes (the global batch; "
                                   "each of N processes takes 1/N of it)", low=1)
    lr: float = setting(0.1, "peak learning rate", low=0, low_open=True)
    optimizer: str = setting("sgd", "optimizer", choices=OPTIMIZERS)
    momentum: float = setting(0.9, "SGD momentum", low=0, high=1, high_open=True)
    muon_lr: float = setting(0.02, "--optimizer muon: peak learning rate of the hidden layers' weights (Muon's "
                                   "orthogonalised update); the first trainable layer, the last and every norm "
                                   "and bias take SGD at --lr", low=0, low_open=True)
    nesterov: bool = setting(False, "Nesterov momentum")
    sdlm_mu: float = setting(0.02, "--optimizer sdlm: mu of the step lr / (mu + h), h the parameter's "
                                   "Gauss-Newton second derivative", low=0, low_open=True)
    sdlm_samples: int = setting(500, "--optimizer sdlm: training examples the second derivatives are "
                                     "estimated on before each epoch", low=1, metavar="N")
    weight_decay: float = setting(5e-4, "decoupled for AdamW, L2 for SGD; not applied to norms and biases", low=0)
    schedule: str = setting("cosine", "learning-rate schedule (lecun98: LeNet-5's paper, lr x 1, 0.4, 0.2, 0.1 and "
                                      "0.02 from its passes 1, 3, 6, 9 and 13, a pass being --schedule-pass examples seen)", choices=SCHEDULES)
    schedule_pass: int = setting(LECUN98_PASS, "'lecun98' schedule: examples seen per pass (the paper's 60,000 training "
                                         "digits; its distorted training set was 600,000 patterns)", low=1, metavar="N")
    warmup_epochs: float = setting(0.0, "linear warm-up from lr/25 (onecycle default: 30%% of the run)", low=0)
    step_epochs: int = setting(30, "'step' schedule: multiply the lr by --step-gamma every this many epochs", low=1)
    step_gamma: float = setting(0.1, "'step' schedule's factor", low=0, low_open=True)
    loss: str = setting("cross-entropy", "classification criterion: cross-entropy, or map (LeNet-5's MAP "
                                         "criterion: cross-entropy with a fixed extra logit -j, j = 0.1)",
                        choices=LOSSES)
    label_smoothing: float = setting(0.0, "label smoothing of the cross-entropy", low=0, high=1, high_open=True)
    class_balance: float = setting(0.0, "weight each class's examples (a segmentation's pixels) by "
                                   "frequency^-P in the training labels, normalised to a mean of 1 per "
                                   "example (U-Net's class-balancing weight map): 0 off, 0.5 inverse "
                                   "square root, 1 inverse frequency", low=0, high=1)
    aux_weight: float = setting(0.3, "weight of each auxiliary classifier's loss (GoogLeNet's 0.3); training only",
                                low=0)
    augment: str = setting("none", ("none | flip | crop[N] | erase[P] | elastic | affine | crop+flip | crop+flip+erase | "
                                    "affine+elastic | auto "
                                    "(batch-level; masks move with their images; erase: random erasing of "
                                    "P%% (50) of the images; elastic: Simard et al. 2003, sigma 4, alpha 34; affine: "
                                    "rotation +-7.5 degrees, scaling +-15%%, Ciresan et al. 2010; these three "
                                    "classification only)"))
    progressive: float = setting(0.0, "progressive resizing (classification): train the first epoch on images "
                                      "scaled to this fraction of their side, growing linearly to full size in "
                                      "the last epoch (0: off)", low=0, high=1, metavar="FRACTION")
    # numerics, speed and where it runs
    device: str = setting("auto", "auto: the GPU of this process when CUDA is available, else the CPU",
                          choices=DEVICES, resume=True)
    precision: str = setting("auto", "auto: the faster of fp32 and bf16 autocast, measured on CPUs; bf16 (or fp16 "
                                     "with a GradScaler) on CUDA", choices=PRECISIONS, resume=True)
    channels_last: bool | None = setting(None, "memory format; default: the faster for this model, measured "
                                               "like --precision")
    threads: int = setting(0, "CPU threads per process (0: torch's default, one per physical core)", low=0,
                           high=MAX_THREADS, resume=True)
    compile: bool = setting(False, "torch.compile the model for training (compile time is reported apart)",
                            resume=True)
    sync_bn: bool = setting(False, "multi-process: batch norm statistics over the global batch")
    dist_timeout: float = setting(300.0, "multi-process: seconds a process waits for the others before it fails",
                                  low=1, high=86400, resume=True, metavar="SECONDS")
    # evaluation
    ema: float = setting(0.0, "evaluate a moving average of the weights with this decay per step (0 = off)",
                         low=0, high=1, high_open=True, metavar="DECAY")
    tta: bool = setting(False, "final test evaluation averages flipped (if label-safe) and shifted views")
    # reproducibility
    seed: int = setting(0, "seed of every random choice (data order, augmentation, initialisation)", low=0)
    deterministic: bool = setting(False, "deterministic kernels only (slower)")
    # output
    out: str | None = setting(None, "run directory (default runs/<model>-<data>-<time>)", metavar="DIR")
    progress: bool | None = setting(None, "a progress bar (default: only when stderr is a terminal)", resume=True)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            _check(f, getattr(self, f.name))
        if not self.warmup_epochs <= self.epochs:
            raise ConvzooError("--warmup-epochs must be within the run (at most --epochs)")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in upgraded(d).items() if k in known})


def upgraded(config: dict) -> dict:
    """A recorded config in today's terms: the first d2l runs recorded `normalize` as true / false."""
    if isinstance(config.get("normalize"), bool):
        return {**config, "normalize": "dataset" if config["normalize"] else "none"}
    return config


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def field_type(name: str) -> type:
    """The plain type of TrainConfig field `name` (int, float, str or bool; Optional unwrapped)."""
    import types
    import typing

    hint = typing.get_type_hints(TrainConfig)[name]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def parse_setting(name: str, text: str):
    """`text` as a value of TrainConfig field `name`, checked against its choices and bounds:
    `parse_setting("lr", "0.05") == 0.05`; a wrong type or value is a one-line ConvzooError."""
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    if name not in fields:
        raise ConvzooError(f"{flag_name(name)} is not a training setting")
    kind, flag = field_type(name), flag_name(name)
    if kind is bool:
        lowered = text.strip().lower()
        if lowered not in ("true", "false", "yes", "no", "on", "off", "1", "0"):
            raise ConvzooError(f"{flag} takes true or false, not {text!r}")
        value = lowered in ("true", "yes", "on", "1")
    elif kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            raise ConvzooError(f"{flag} takes {'an integer' if kind is int else 'a number'}, not {text!r}") from None
    else:
        value = text
    _check(fields[name], value)
    return value


def _check(f: dataclasses.Field, value) -> None:
    meta, flag = f.metadata, flag_name(f.name)
    if value is None:
        return
    if meta.get("choices") and value not in meta["choices"]:
        raise ConvzooError(f"{flag} must be one of {', '.join(meta['choices'])}, not {value!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if isinstance(value, float) and math.isnan(value):
        raise ConvzooError(f"{flag} must be a number, not nan")
    low, high = meta.get("low"), meta.get("high")
    too_low = low is not None and (value <= low if meta["low_open"] else value < low)
    too_high = (high is not None and (value >= high if meta["high_open"] else value > high)) or math.isinf(value)
    if too_low or too_high:
        lower = f"{'>' if meta['low_open'] else '>='} {low}" if low is not None else ""
        upper = f"{'<' if meta['high_open'] else '<='} {high}" if high is not None else "finite"
        raise ConvzooError(f"{flag} must be {' and '.join(b for b in (lower, upper) if b)}, not {value}")


@dataclass(frozen=True)
class Recipe:
    """A named TrainConfig preset (`--recipe NAME`), each setting with the reason it was chosen
    (train/recipes.py, train/zoo_recipes.py)."""

    name: str
    summary: str
    settings: dict  # TrainConfig field -> (value, why)

    def values(self) -> dict:
        return {key: value for key, (value, _) in self.settings.items()}

    def config(self, **overrides) -> TrainConfig:
        return TrainConfig(**{**self.values(), **overrides})
