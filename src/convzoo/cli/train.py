"""`convzoo train`, `convzoo eval`, `convzoo predict`: the training loop and its checkpoints.

The training flags are generated from TrainConfig's fields (train/config.py holds each flag's type,
help, bounds and whether `--resume` may change it), so the config is their single source.
"""

from __future__ import annotations

import argparse
import dataclasses

from ..train.config import TrainConfig, field_type, flag_name
from ..train.recipes import RECIPES
from . import argtypes
from .output import Result

# Bounds are TrainConfig's (checked when the config is built); here only the type.
_NUMBER = {int: argtypes.integer(), float: argtypes.number(finite=False)}
_RUN_FLAGS = ("model", "recipe", "resume", "download", "engine", "json", "model_arg", "code")


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field (defaults None: a flag not given leaves the config's default,
    or the recipe's, and `--resume` can tell which flags were given)."""
    for f in dataclasses.fields(TrainConfig):
        meta = f.metadata
        if not meta.get("cli", True):
            continue
        kind = field_type(f.name)
        default = f.default if f.default is not dataclasses.MISSING else None
        help_text = meta["help"] + ("" if default is None else f" (default: {default})")
        if meta.get("resume"):
            help_text += "; may change with --resume"
        options = {"help": help_text, "default": None}
        if kind is bool:
            parser.add_argument(flag_name(f.name), action=argparse.BooleanOptionalAction, **options)
            continue
        if meta.get("choices"):
            options["choices"] = meta["choices"]
        parser.add_argument(flag_name(f.name), type=_NUMBER.get(kind, kind),
                            metavar=meta.get("metavar") or (None if meta.get("choices") else f.name.upper()),
                            **options)


def register(sub) -> None:
    p = sub.add_parser("train", help="train a model on a dataset",
                       description="Train MODEL on a dataset; the run directory gets config.json, "
                                   "metrics.jsonl, curves.png, eval.json and checkpoint.pt. Multi-process: "
                                   "torchrun --standalone --nproc-per-node=N -m convzoo train ... (docs/distributed.md).")
    p.add_argument("model", nargs="?", help=f"a registered model (default: the recipe's, else "
                                            f"{TrainConfig.model}; see `convzoo models`), or your own "
                                            "FILE.py:Class or package.module:Class (docs/your-own-model.md)")
    p.add_argument("--recipe", choices=sorted(RECIPES), metavar="NAME",
                   help="start from a named preset (docs/speedrun.md); explicit flags override it: "
                        + "; ".join(f"{r.name}: {r.summary}" for r in RECIPES.values() if not r.name.startswith("zoo-"))
                        + "; zoo-FAMILY: the recipe of a row of `convzoo zoo` (docs/zoo.md)")
    p.add_argument("--model-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="a builder option of the model, repeatable (`convzoo models MODEL` lists them), "
                        "e.g. --model-arg activation=sigmoid --model-arg dropout=0; for FILE.py:Class, a "
                        "constructor argument typed by its signature")
    add_config_flags(p)
    p.add_argument("--download", action="store_true", help="download the dataset if it is missing")
    p.add_argument("--resume", metavar="RUN", help="continue the run in this directory (or checkpoint)")
    argtypes.add_code_flag(p)
    p.add_argument("--engine", choices=("torch", "numpy"), default="torch",
                   help="numpy: train with convzoo.reference's from-scratch ops (lenet_modern only)")
    p.add_argument("--json", action="store_true", help="print the final result as JSON")
    p.add_argument("--count", action=argparse.BooleanOptionalAction, default=None,
                   help="count the run's images seen and training FLOPs after it ends (default: with --json; "
                        "counting imports torch's compiler, about 2 s; docs/speedrun.md)")
    p.set_defaults(func=run_train)


def _given(args) -> dict:
    """The config flags given on the command line."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
            if f.metadata.get("cli", True) and getattr(args, f.name, None) is not None}


def config_from_args(args) -> TrainConfig:
    from ..models import is_user_spec, model_info
    from ..models.registry import parse_model_args
    from ..models.userspec import parse_args_of

    values = RECIPES[args.recipe].values() if getattr(args, "recipe", None) else {}
    values.update(_given(args))
    if args.model:
        values["model"] = args.model
    model = values.get("model", TrainConfig.model)
    if is_user_spec(model):  # the user's own code: imported now, as asked; a mistake in it fails here
        # A recipe's builder options are its own model's; the user's constructor takes its own.
        values["model_kwargs"] = parse_args_of(model, args.model_arg)
        return TrainConfig(**values)
    model_info(model)  # an unknown model fails before anything else
    if getattr(args, "model_arg", None):
        values["model_kwargs"] = {**values.get("model_kwargs", {}), **parse_model_args(model, args.model_arg)}
    return TrainConfig(**values)


def _resume_overrides(args) -> dict:
    """The flags a resumed run may change; any other one is refused (it would be ignored)."""
    from ..errors import ConvzooError

    given = _given(args)
    fixed = [flag_name(k) for k in given
             if not next(f for f in dataclasses.fields(TrainConfig) if f.name == k).metadata.get("resume")]
    fixed += [flag for flag, on in (("MODEL", args.model), ("--recipe", args.recipe),
                                    ("--model-arg", args.model_arg), ("--engine numpy", args.engine == "numpy"),
                                    ("--download", args.download)) if on]
    if fixed:
        allowed = ", ".join(flag_name(f.name) for f in dataclasses.fields(TrainConfig)
                            if f.metadata.get("resume") and f.metadata.get("cli", True))
        raise ConvzooError(f"{', '.join(fixed)} cannot change when resuming (the run keeps its own settings); "
                           f"--resume accepts {allowed}")
    given.pop("epochs", None)
    return given


def run_train(args) -> Result | int:
    """Rank 0 returns the run's result; another rank of a multi-process run returns 0 (it prints nothing).
    With --json the engine's log (set-up, one line per epoch) goes to stderr (cli.main): stdout is the JSON alone."""
    from ..data import dataset_spec, locate
    from ..train import Trainer

    if args.resume:
        trainer = Trainer.resume(args.resume, epochs=args.epochs, code=args.code, **_resume_overrides(args))
    else:
        config = config_from_args(args)
        dataset_spec(config.data)
        if args.download:
            locate(config.data, config.data_dir, allow_download=True, progress=True)
        if args.engine == "numpy":
            return _result(_train_numpy(config))
        trainer = Trainer(config)
    result = _fit(trainer)
    if trainer.runtime.rank != 0:
        return 0
    if args.json if args.count is None else args.count:
        from ..train.compute import run_compute

        compute = run_compute(trainer)
        result["compute"] = compute.to_dict() if compute else None
    return _result(result)


def _fit(trainer) -> dict:
    """trainer.fit(), with an interruption or a lost peer process said in one line."""
    from ..errors import ConvzooError
    from ..train import distributed

    try:
        return trainer.fit()
    except KeyboardInterrupt:
        raise ConvzooError(_interrupted(trainer)) from None
    except RuntimeError as exc:  # a collective that another process never joined
        failure = distributed.peer_failure(exc, trainer.config.dist_timeout) if trainer.runtime.world_size > 1 else None
        if failure is None:
            raise
        raise failure from None
    finally:
        distributed.shutdown()


def _result(result: dict) -> Result:
    """A finished run (either engine): the test numbers, the compute if counted, where it was saved."""
    from ..tables import human

    evaluation = result.pop("evaluation")
    miou = f", mean IoU {result['test_miou']:.4f}" if "test_miou" in result else ""
    what = "pixel accuracy" if result.get("task") == "segmentation" else "accuracy"
    engine = (f", {result['examples_per_sec']:,.0f} examples/s, numpy engine"
              if result.get("engine") == "numpy" else "")
    text = [(f"test {what} {result['test_acc']:.4f}{miou}  (loss {result['test_loss']:.4f}, "
            f"{result['epochs']} epochs{engine}, {result['seconds']:.0f} s)")]
    if result.get("compute"):
        compute = result["compute"]
        text.append(f"compute: {compute['images_seen']:,} images seen, {human(compute['train_flops'])}FLOP "
                    f"training, {human(compute['eval_flops'])}FLOP evaluation (FlopCounterMode; docs/speedrun.md)")
    text.append(f"run saved in {result['run_dir']}")
    return Result({**result, **_per_class(evaluation)}, text)


def _per_class(evaluation) -> dict:
    d = {"per_class_accuracy": evaluation.per_class_accuracy}
    if evaluation.task == "segmentation":
        d["per_class_iou"] = evaluation.per_class_iou
    return d


def _interrupted(trainer) -> str:
    """A hint that always continues the run: none before the first checkpoint exists."""
    from ..train.checkpoint import CHECKPOINT_NAME

    if not trainer.epoch or trainer.run_dir is None or not (trainer.run_dir / CHECKPOINT_NAME).is_file():
        return "interrupted before the first epoch ended; nothing was saved"
    more = f" --epochs {trainer.config.epochs}"
    return f"interrupted after epoch {trainer.epoch}; continue with `convzoo train --resume {trainer.run_dir}{more}`"


def _train_numpy(config: TrainConfig) -> dict:
    """`--engine numpy`: a run directory like the torch engine's, shown by the same printer."""
    from ..train.numpy_engine import train_with_numpy

    return {**train_with_numpy(config), "engine": "numpy"}
