"""`convzoo train --engine numpy`: the reference LeNet (convzoo.reference, NumPy only) trained, and
saved as a run like any other.

The run directory gets what a Trainer run gets (config.json, metrics.jsonl, curves.png, eval.json,
checkpoint.pt): the NumPy network has `lenet_modern`'s layers in the same order, so its arrays load
into that model, and `convzoo eval`, `predict`, `report` and `show` use the run as they use any
other. The checkpoint holds weights only (NumPy's SGD state is not saved), so it cannot be resumed.
"""

from __future__ import annotations

import math
import platform
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

from ..atomic import check_owner, write_json, write_text
from ..errors import ConvzooError
from .checkpoint import CHECKPOINT_NAME, save_checkpoint
from .config import TrainConfig

MODEL = "lenet_modern"


def train_with_numpy(config: TrainConfig, log=print) -> dict:
    """Train `config` with the NumPy engine; returns what `Trainer.fit` returns (run_dir, checkpoint,
    task, epochs, test_acc, test_loss, seconds, evaluation), the test numbers being those of the
    saved weights as `convzoo eval` measures them."""
    from ..data import load_dataset
    from ..data.sampling import with_train_size
    from ..models import count_parameters, create_model
    from ..reference.net import train_numpy
    from .curves import plot_curves
    from .metrics import evaluate_checkpoint

    if config.model != MODEL:
        raise ConvzooError(f"--engine numpy trains {MODEL} only (the reference ops' LeNet), not {config.model}")
    bundle = load_dataset(config.data, config.data_dir, test_holdout=config.test_holdout, seed=config.seed)
    bundle = with_train_size(bundle, config.train_size, config.seed)
    train, test = bundle.train, bundle.test
    if train.task != "classification" or train.shape != (1, 28, 28):
        raise ConvzooError(f"--engine numpy trains on 28x28 grey images with class labels; {config.data} has "
                           f"{'x'.join(map(str, train.shape))} {train.task} data")
    if len(train) < config.batch_size:
        raise ConvzooError(f"--batch-size {config.batch_size} is more than the {len(train):,} training examples")
    run_dir = _run_dir(config, bundle.name)
    log(f"training {MODEL} with the numpy engine on {bundle.name}: {len(train):,} train / {len(test):,} test")
    for note in bundle.notes:
        log(f"note: {note}")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # a divergence is reported once, below
        try:
            result = train_numpy(train.images.numpy(), train.labels.numpy(), test.images.numpy(),
                                 test.labels.numpy(), epochs=config.epochs, batch_size=config.batch_size,
                                 lr=config.lr, seed=config.seed, mean=train.mean[0], std=train.std[0], log=log)
        except FloatingPointError as exc:
            raise ConvzooError(f"training diverged: {exc} (try a lower --lr); nothing was saved") from None
    try:  # made only now: a refused or diverged run leaves nothing behind
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConvzooError(f"cannot write the run directory {run_dir} ({exc.strerror or exc})") from None
    model = create_model(MODEL, num_classes=len(train.classes), in_channels=1, input_size=(28, 28))
    steps = config.epochs * (len(train) // config.batch_size)
    state = {k: torch.from_numpy(v) for k, v in result["model"].state_arrays().items()}
    state.update({k: torch.tensor(steps) for k in model.state_dict() if k.endswith("num_batches_tracked")})
    model.load_state_dict(state)
    history = result["history"]
    save_checkpoint(run_dir / CHECKPOINT_NAME, {
        "model": model.convzoo_spec, "task": "classification", "engine": "numpy",
        "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "config": config.to_dict(), "data": bundle.describe(), "setup": {"precision": "fp32", "channels_last": False},
        "epoch": config.epochs, "step": steps, "history": history})
    write_json(run_dir / "config.json", {
        "config": config.to_dict(), "engine": "numpy", "model": model.convzoo_spec, "task": "classification",
        "parameters": count_parameters(model), "data": bundle.describe(),
        "runtime": {"device": "cpu", "precision": "fp32", "numpy": np.__version__,
                    "python": platform.python_version()}})
    write_text(run_dir / "metrics.jsonl", "".join(_json_line(row) for row in history))
    plot_curves({f"{MODEL} (numpy)": history}, run_dir / "curves.png")
    checked = evaluate_checkpoint(run_dir)
    evaluation = checked.evaluation
    write_json(run_dir / "eval.json", {"epoch": config.epochs, **evaluation.to_dict(checked.classes)})
    return {"run_dir": str(run_dir), "checkpoint": str(run_dir / CHECKPOINT_NAME), "task": "classification",
            "engine": "numpy", "epochs": config.epochs, "test_acc": evaluation.accuracy, "test_loss": evaluation.loss,
            "seconds": result["seconds"], "examples_per_sec": result["examples_per_sec"], "evaluation": evaluation}


def _run_dir(config: TrainConfig, data_name: str) -> Path:
    """Where the run goes, refused early if a file or another run is in the way (made after training)."""
    run_dir = Path(config.out) if config.out else Path("runs") / (
        f"{MODEL}-numpy-{data_name}-{datetime.now():%Y%m%d-%H%M%S}")
    if run_dir.exists() and not run_dir.is_dir():
        raise ConvzooError(f"--out {run_dir}: a file is in the way (a run directory is a folder)")
    if (run_dir / CHECKPOINT_NAME).exists():
        raise ConvzooError(f"{run_dir} already holds a run; use another --out")
    check_owner(run_dir, "config.json")
    return run_dir


def _json_line(row: dict) -> str:
    import json

    return json.dumps({k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in row.items()}) + "\n"
