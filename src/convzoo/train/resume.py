"""What a checkpoint holds so that a run continues exactly: the weights (evaluated and optimised),
optimiser and gradient-scaler state, position, history, setup, and every random stream;
`run_state` gathers it, `restore_state` puts it back into a freshly prepared run.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from ..data import DataBundle
from . import distributed
from .config import TrainConfig
from .loop import Position
from .modelsetup import TrainingModel
from .runtime import Runtime


def run_state(trained: TrainingModel, position: Position, history: list[dict], config: TrainConfig,
              data: DataBundle, task_name: str, generator: torch.Generator) -> dict:
    """Everything a checkpoint holds. Under DDP every process must call it (the random states of
    all ranks are gathered so that a resumed run continues each rank's stream)."""
    rng_ranks = distributed.gather(torch.get_rng_state())
    # `state_dict` holds the weights that were evaluated (so `convzoo eval` reproduces the run's
    # accuracy); with EMA on, the optimised weights that resume needs are `train_state_dict`.
    extra = {"train_state_dict": _cpu_state(trained.model)} if trained.ema is not None else {}
    if trained.scaler is not None:
        extra["grad_scaler"] = trained.scaler.state_dict()
    return {
        "model": trained.model.convzoo_spec, "task": task_name,
        "state_dict": _cpu_state(trained.eval_model), **extra,
        "config": config.to_dict(), "data": data.describe(),
        "setup": dataclasses.asdict(trained.setup),
        "epoch": position.epoch, "step": position.step, "history": history,
        "optimizer": trained.optimizer.state_dict(),
        "rng": {"torch": rng_ranks[0], "torch_ranks": rng_ranks, "data": generator.get_state()},
    }


def restore_state(payload: dict, trained: TrainingModel, position: Position, runtime: Runtime, seed: int,
                  generator: torch.Generator) -> list[dict]:
    """Put a checkpoint's weights, optimiser, position and random streams back; returns its history."""
    trained.model.load_state_dict(payload.get("train_state_dict", payload["state_dict"]))
    if trained.ema is not None:
        trained.ema.model.load_state_dict(payload["state_dict"])
    trained.optimizer.load_state_dict(payload["optimizer"])
    if trained.scaler is not None and "grad_scaler" in payload:
        trained.scaler.load_state_dict(payload["grad_scaler"])
    position.epoch, position.step = payload["epoch"], payload["step"]
    rng = payload["rng"]
    ranks = rng.get("torch_ranks", [rng["torch"]])
    if len(ranks) == runtime.world_size:
        torch.set_rng_state(ranks[runtime.rank])
    else:  # another process count: the data order continues exactly, in-model randomness anew
        torch.set_rng_state(rng["torch"])
        if runtime.rank:
            torch.manual_seed(seed + 1_000_003 * runtime.rank + position.step)
    generator.set_state(rng["data"])
    return payload["history"]


def _cpu_state(model: nn.Module) -> dict:
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}
