"""How `convzoo compare` fills one row: a classical method fitted here, a network trained by the
engine (with several seeds: mean +- sd), or a committee of networks whose averaged outputs vote.

Every function returns the row's measured values as a dict: error_percent (a committee's vote, or
the seeds' mean), error_sd (None for one run), runs, params (a classical model's stored numbers; a
network's parameters, a committee's summed), train_seconds (a classical fit; a network's training
steps only, from the engine's examples/s; mean over seeds, summed over a committee's members),
infer_ms_per_1k, note.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

# The networks' numerics, fixed: with `auto` the Trainer times NCHW against channels_last (and bf16
# where the CPU has it) on each machine, so a quoted error rate could come from another setup on
# another machine. fp32 NCHW is what `auto` picks for these small nets on AVX2 CPUs.
NETWORK_SETUP = {"precision": "fp32", "channels_last": False}


def classical_row(row, bundle, threads: int = 0) -> dict:
    import torch

    from .table_methods import METHODS

    if threads:  # IDM and the boosting run on torch
        torch.set_num_threads(threads)
    x, y = bundle.train.images[:, 0].numpy(), bundle.train.labels.numpy()
    test, answers = bundle.test.images[:, 0].numpy(), bundle.test.labels.numpy()
    fitted = METHODS[row.name](x, y, test)
    error = 100.0 * float((fitted.predicted != answers).mean())
    return {"error_percent": error, "error_sd": None, "runs": 1, "params": int(fitted.stored),
            "train_seconds": fitted.fit_seconds, "infer_ms_per_1k": 1e6 * fitted.predict_seconds / len(answers),
            "note": fitted.details}


def run_dir_of(row, out: Path, seed: int, width: int = 0) -> Path:
    base = out / "runs" / (row.runs_of or row.key)
    return base / (f"w{width}-seed{seed}" if width else f"seed{seed}")


def train_member(row, bundle, setting: dict, run_dir: Path, seed: int, threads: int, tag: str, log):
    """(test accuracy, trained model, training seconds, status) of one training of `row`'s network."""
    from ..experiments.runs import train_or_read
    from ..train import TrainConfig, model_from_checkpoint

    training = {**row.training, "epochs": setting["epochs"] or row.training.get("epochs", 10)}
    config = TrainConfig(model=row.name, data=bundle.name, seed=seed, threads=threads, progress=False,
                         out=str(run_dir), **{**NETWORK_SETUP, **training})
    accuracy, status = train_or_read(config, bundle, tag, 0, log)
    model, payload = model_from_checkpoint(run_dir)
    history = payload["history"]
    seconds = sum(len(bundle.train) / r["examples_per_sec"] for r in history if r.get("examples_per_sec"))
    return accuracy, model, seconds, status


def network_row(row, bundle, setting: dict, out: Path, threads: int, tag: str, log) -> dict:
    from ..models.registry import count_parameters

    seeds = setting["seeds"](row)
    errors, seconds, notes = [], [], []
    for seed in range(seeds):
        accuracy, model, took, status = train_member(row, bundle, setting, run_dir_of(row, out, seed), seed,
                                                     threads, f"{tag} seed {seed}", log)
        errors.append(100.0 * (1 - accuracy))
        seconds.append(took)
        notes += [f"seed {seed} diverged: scored at chance"] if status == "diverged" else []
    epochs = setting["epochs"] or row.training.get("epochs", 10)
    return {"error_percent": statistics.fmean(errors), "error_sd": statistics.stdev(errors) if seeds > 1 else None,
            "runs": seeds, "params": count_parameters(model), "train_seconds": statistics.fmean(seconds),
            "infer_ms_per_1k": inference_ms_per_1k(model, bundle.test, threads),
            "note": "; ".join([f"{epochs} epoch{'s' if epochs != 1 else ''}", *notes]), "errors": errors}


def committee_row(row, bundle, setting: dict, out: Path, threads: int, tag: str, log) -> dict:
    """Each member trained on its own width normalisation of the digits (the test digits normalised
    alike) with its own seed; the committee answers with the mean of the members' softmax outputs."""
    from ..models.registry import count_parameters
    from .features import width_normalise

    members = row.members[:setting["members"]] if setting["members"] else row.members
    votes, errors, seconds, params, infer = 0.0, [], 0.0, 0, 0.0
    for seed, width in enumerate(members):
        data = bundle if not width else replace(
            bundle, train=_normalised(bundle.train, width, width_normalise),
            test=_normalised(bundle.test, width, width_normalise))
        accuracy, model, took, _ = train_member(row, data, setting, run_dir_of(row, out, seed, width), seed,
                                                threads, f"{tag} member {seed + 1}/{len(members)}", log)
        started = time.perf_counter()
        votes = votes + probabilities(model, data.test, threads)
        infer += time.perf_counter() - started
        errors.append(100.0 * (1 - accuracy))
        seconds += took
        params += count_parameters(model)
    answers = bundle.test.labels.numpy()
    error = 100.0 * float((votes.argmax(1) != answers).mean())
    spread = f"{statistics.fmean(errors):.2f} ± {statistics.stdev(errors):.2f}" if len(errors) > 1 else f"{errors[0]:.2f}"
    return {"error_percent": error, "error_sd": None, "runs": len(members), "params": params,
            "train_seconds": seconds, "infer_ms_per_1k": 1e6 * infer / len(answers),
            "note": f"{len(members)} members, each alone {spread} % error", "errors": errors}


def _normalised(dataset, width: int, normalise):
    import torch

    images = torch.from_numpy(normalise(dataset.images[:, 0].numpy(), width))[:, None]
    return replace(dataset, images=images)


def _inputs(test):
    import torch

    mean = torch.tensor(test.mean).view(1, -1, 1, 1)
    std = torch.tensor(test.std).view(1, -1, 1, 1)
    return (test.images.float() / 255 - mean) / std


def probabilities(model, test, threads: int) -> np.ndarray:
    """(N, classes) softmax outputs of `model` on the test images, normalised as in training."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    model.eval()
    x = _inputs(test)
    with torch.inference_mode():
        return torch.cat([model(x[i:i + 1000]).softmax(1) for i in range(0, len(x), 1000)]).numpy()


def inference_ms_per_1k(model, test, threads: int) -> float:
    """Milliseconds to classify 1,000 test images in batches of 1,000 (fp32, no autograd; the
    median of 3 passes over the test set after one warm-up batch)."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    model.eval()
    x = _inputs(test)
    passes = []
    with torch.inference_mode():
        model(x[:1000])
        for _ in range(3):
            started = time.perf_counter()
            for i in range(0, len(x), 1000):
                model(x[i:i + 1000])
            passes.append(time.perf_counter() - started)
    return 1000 * statistics.median(passes) * 1000 / len(x)
