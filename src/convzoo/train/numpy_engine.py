"""`convzoo train --engine numpy`: the reference LeNet (convzoo.reference, NumPy only) trained, and
saved as a run like any other.

The run directory gets what a Trainer run gets (config.json, metrics.jsonl, curves.png, eval.json,
checkpoint.pt), written by the same `RunDirectory` with the same checks and messages: the NumPy
network has `lenet_modern`'s layers in the same order, so its arrays load into that model, and
`convzoo eval`, `predict`, `report` and `show` use the run as they use any other. The checkpoint
holds weights only (NumPy's SGD state is not saved), so it cannot be resumed.
"""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import torch

from ..errors import ConvzooError
from .config import TrainConfig
from .rundir import RunDirectory, default_run_path

MODEL = "lenet_modern"


def train_with_numpy(config: TrainConfig, log=print) -> dict:
    """Train `config` with the NumPy engine; returns what `Trainer.fit` returns (run_dir, checkpoint,
    task, epochs, test_acc, test_loss, seconds, evaluation), the test numbers being those of the
    saved weights as `convzoo eval` measures them."""
    from .metrics import evaluate_checkpoint

    if config.model != MODEL:
        raise ConvzooError(f"--engine numpy trains {MODEL} only (the reference ops' LeNet), not {config.model}")
    bundle = _load(config)
    # Checked now, made only after training: a refused or diverged run leaves nothing behind.
    run_directory = RunDirectory(Path(config.out) if config.out else default_run_path(f"{MODEL}-numpy", bundle.name),
                                 resumable=False)
    run_directory.check()
    result = _train(config, bundle, run_directory, log)
    run_directory.make()
    _write_run(run_directory, config, bundle, result)
    checked = evaluate_checkpoint(run_directory.path)
    evaluation = checked.evaluation
    run_directory.write_eval(config.epochs, evaluation, checked.classes)
    return {"run_dir": str(run_directory.path), "checkpoint": str(run_directory.checkpoint), "task": "classification",
            "engine": "numpy", "epochs": config.epochs, "test_acc": evaluation.accuracy, "test_loss": evaluation.loss,
            "seconds": result["seconds"], "examples_per_sec": result["examples_per_sec"], "evaluation": evaluation}


def _load(config: TrainConfig):
    """The config's data, refused unless it is what the reference LeNet takes."""
    from ..data import load_dataset
    from ..data.sampling import with_train_size

    bundle = load_dataset(config.data, config.data_dir, test_holdout=config.test_holdout, seed=config.seed)
    bundle = with_train_size(bundle, config.train_size, config.seed)
    train = bundle.train
    if train.task != "classification" or train.shape != (1, 28, 28):
        raise ConvzooError(f"--engine numpy trains on 28x28 grey images with class labels; {config.data} has "
                           f"{'x'.join(map(str, train.shape))} {train.task} data")
    if len(train) < config.batch_size:
        raise ConvzooError(f"--batch-size {config.batch_size} is more than the {len(train):,} training examples")
    return bundle


def _train(config: TrainConfig, bundle, run_directory: RunDirectory, log) -> dict:
    """reference/net.py's `train_numpy` on the bundle; a divergence is one line."""
    from ..reference.net import train_numpy

    train, test = bundle.train, bundle.test
    log(f"training {MODEL} with the numpy engine on {bundle.name}: {len(train):,} train / {len(test):,} test")
    for note in bundle.notes:
        log(f"note: {note}")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # a divergence is reported once, below
        try:
            return train_numpy(train.images.numpy(), train.labels.numpy(), test.images.numpy(),
                               test.labels.numpy(), epochs=config.epochs, batch_size=config.batch_size,
                               lr=config.lr, seed=config.seed, mean=train.mean[0], std=train.std[0], log=log)
        except FloatingPointError as exc:
            raise run_directory.diverged(str(exc), 0) from None


def _write_run(run_directory: RunDirectory, config: TrainConfig, bundle, result: dict) -> None:
    """The NumPy weights loaded into `lenet_modern`, saved with the run's config, metrics and curves."""
    from ..models import count_parameters, create_model

    train = bundle.train
    model = create_model(MODEL, num_classes=len(train.classes), in_channels=1, input_size=(28, 28))
    steps = config.epochs * (len(train) // config.batch_size)
    state = {k: torch.from_numpy(v) for k, v in result["model"].state_arrays().items()}
    state.update({k: torch.tensor(steps) for k in model.state_dict() if k.endswith("num_batches_tracked")})
    model.load_state_dict(state)
    history = result["history"]
    run_directory.write_checkpoint({
        "model": model.convzoo_spec, "task": "classification", "engine": "numpy",
        "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "config": config.to_dict(), "data": bundle.describe(), "setup": {"precision": "fp32", "channels_last": False},
        "epoch": config.epochs, "step": steps, "history": history})
    run_directory.write_config({
        "config": config.to_dict(), "engine": "numpy", "model": model.convzoo_spec, "task": "classification",
        "parameters": count_parameters(model), "data": bundle.describe(),
        "runtime": {"device": "cpu", "precision": "fp32", "numpy": np.__version__,
                    "python": platform.python_version()}})
    run_directory.write_metrics(history)
    run_directory.write_curves(f"{MODEL} (numpy)", history)
