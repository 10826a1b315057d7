"""`convzoo train`, `convzoo eval`, `convzoo predict`: the training loop and its checkpoints."""

from __future__ import annotations

import argparse
import json

from ..train.config import OPTIMIZERS, PRECISIONS, SCHEDULES, TrainConfig
from ..train.recipes import RECIPES


def register(sub) -> None:
    p = sub.add_parser("train", help="train a model on a dataset",
                       description="Train MODEL on a dataset; the run directory gets config.json, "
                                   "metrics.jsonl, curves.png, eval.json and checkpoint.pt.")
    p.add_argument("model", nargs="?", help=f"a registered model (default: the recipe's, else "
                                            f"{TrainConfig.model}); see `convzoo models`")
    p.add_argument("--recipe", choices=sorted(RECIPES),
                   help="start from a named preset (docs/speed.md); explicit flags override it: "
                        + "; ".join(f"{r.name}: {r.summary}" for r in RECIPES.values()))
    p.add_argument("--data", help=f"dataset (default {TrainConfig.data}); see `convzoo data list`")
    p.add_argument("--data-dir", help="where the dataset's files are (else the usual search)")
    p.add_argument("--download", action="store_true", help="download the dataset if it is missing")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--optimizer", choices=OPTIMIZERS)
    p.add_argument("--momentum", type=float)
    p.add_argument("--nesterov", action="store_true", default=None)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--schedule", choices=SCHEDULES)
    p.add_argument("--warmup-epochs", type=float)
    p.add_argument("--label-smoothing", type=float)
    p.add_argument("--augment", help="none | flip | crop[N] | crop+flip | auto")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="auto (default): the faster of fp32 and bf16 autocast for this model on this machine, "
                        "measured once and cached (bf16 is tried where the CPU has AMX or AVX512-BF16)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                   help="memory format; default: the faster of the two for this model, measured like --precision")
    p.add_argument("--threads", type=int)
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="torch.compile the model for training (compile time is reported apart)")
    p.add_argument("--ema", type=float, metavar="DECAY",
                   help="evaluate a moving average of the weights with this decay per step (0 = off)")
    p.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None,
                   help="final test evaluation averages flipped (if label-safe) and shifted views")
    p.add_argument("--seed", type=int)
    p.add_argument("--deterministic", action="store_true", default=None)
    p.add_argument("--val-split", type=float, help="fraction of train held out for validation")
    p.add_argument("--test-holdout", type=float,
                   help="fraction (<1) or count of train used as the test set")
    p.add_argument("--out", help="run directory (default runs/<model>-<data>-<time>)")
    p.add_argument("--resume", metavar="RUN", help="continue the run in this directory (or checkpoint)")
    p.add_argument("--engine", choices=("torch", "numpy"), default="torch",
                   help="numpy: train with convzoo.reference's from-scratch ops (lenet_modern only)")
    p.add_argument("--json", action="store_true", help="print the final result as JSON")
    p.set_defaults(func=run_train)

    p = sub.add_parser("eval", help="evaluate a checkpoint on a dataset's test set")
    p.add_argument("checkpoint", help="checkpoint file, run directory, or a pretrained name")
    p.add_argument("--data", help="dataset (default: the one it was trained on)")
    p.add_argument("--data-dir")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_eval)

    p = sub.add_parser("predict", help="classify image files with a checkpoint")
    p.add_argument("checkpoint", help="checkpoint file, run directory, or a pretrained name")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--top-k", type=int, default=3)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_predict)


_CONFIG_FLAGS = ("data", "data_dir", "epochs", "batch_size", "lr", "optimizer", "momentum", "nesterov",
                 "weight_decay", "schedule", "warmup_epochs", "label_smoothing", "augment", "precision",
                 "channels_last", "threads", "compile", "ema", "tta", "seed", "deterministic", "val_split",
                 "test_holdout", "out")


def config_from_args(args) -> TrainConfig:
    values = RECIPES[args.recipe].values() if getattr(args, "recipe", None) else {}
    values.update({k: getattr(args, k) for k in _CONFIG_FLAGS if getattr(args, k, None) is not None})
    if args.model:
        values["model"] = args.model
    return TrainConfig(**values)


def run_train(args) -> int:
    from ..data import dataset_spec, locate
    from ..errors import ConvzooError
    from ..models import model_info
    from ..train import Trainer

    if args.resume:
        if args.recipe:
            raise ConvzooError("--recipe and --resume do not mix: a resumed run keeps its own settings")
        overrides = {k: getattr(args, k) for k in ("precision", "threads", "compile")
                     if getattr(args, k) is not None}
        trainer = Trainer.resume(args.resume, epochs=args.epochs, **overrides)
    else:
        config = config_from_args(args)
        model_info(config.model)  # an unknown model fails before any data is read
        dataset_spec(config.data)
        if args.download:
            locate(config.data, config.data_dir, allow_download=True, progress=True)
        if args.engine == "numpy":
            return _train_numpy(config)
        trainer = Trainer(config)
    try:
        result = trainer.fit()
    except KeyboardInterrupt:
        raise ConvzooError(f"interrupted after epoch {trainer.epoch}; continue with "
                           f"`convzoo train --resume {trainer.run_dir}`") from None
    evaluation = result.pop("evaluation")
    if args.json:
        print(json.dumps({**result, "per_class_accuracy": evaluation.per_class_accuracy}))
    else:
        print(f"test accuracy {result['test_acc']:.4f}  (loss {result['test_loss']:.4f}, "
              f"{result['epochs']} epochs, {result['seconds']:.0f} s)")
        print(f"run saved in {result['run_dir']}")
    return 0


def _train_numpy(config: TrainConfig) -> int:
    from ..data import load_dataset
    from ..errors import ConvzooError

    if config.model != "lenet_modern":
        raise ConvzooError("--engine numpy trains lenet_modern only (the reference ops' LeNet)")
    from ..reference.net import train_numpy

    bundle = load_dataset(config.data, config.data_dir, test_holdout=config.test_holdout, seed=config.seed)
    result = train_numpy(bundle.train.images.numpy(), bundle.train.labels.numpy(),
                         bundle.test.images.numpy(), bundle.test.labels.numpy(), epochs=config.epochs,
                         batch_size=config.batch_size, lr=config.lr, seed=config.seed,
                         mean=bundle.train.mean[0], std=bundle.train.std[0])
    print(f"test accuracy {result['test_acc']:.4f}  ({result['examples_per_sec']:,.0f} examples/s, "
          f"numpy engine, {result['seconds']:.0f} s)")
    return 0


def run_eval(args) -> int:
    from ..data import BatchLoader
    from ..train import Runtime, evaluate, model_from_checkpoint
    from ..train.metrics import checkpoint_test_set

    model, payload = model_from_checkpoint(args.checkpoint)
    test = checkpoint_test_set(payload, args.data, args.data_dir)
    name = args.data or payload["data"]["name"]
    runtime = Runtime.create()
    result = evaluate(model.to(runtime.device), BatchLoader(test, 512, device=runtime.device),
                      len(test.classes), runtime.autocast)
    if args.json:
        print(json.dumps({"data": name, **result.to_dict(list(test.classes))}))
        return 0
    print(f"{name} test: accuracy {result.accuracy:.4f}, loss {result.loss:.4f} ({len(test):,} examples)")
    width = max(len(c) for c in test.classes)
    for cls, acc in zip(test.classes, result.per_class_accuracy):
        print(f"  {cls:{width}}  {acc:.4f}")
    print("confusion matrix (rows: true, columns: predicted):")
    for row in result.confusion.tolist():
        print("  " + " ".join(f"{v:5d}" for v in row))
    return 0


def run_predict(args) -> int:
    from ..errors import ConvzooError
    from ..train.predict import Predictor

    if args.top_k < 1:
        raise ConvzooError("--top-k must be at least 1")
    predictor = Predictor(args.checkpoint)
    results = predictor.predict_files(args.images, args.top_k)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for r in results:
        guesses = ", ".join(f"{t['class']} {t['probability']:.3f}" for t in r["top"])
        print(f"{r['image']}: {guesses}")
    return 0
