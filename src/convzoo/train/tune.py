"""`auto` precision and memory format: measure the candidate setups on this machine, keep the fastest.

Which setup trains a model fastest depends on the model and the CPU, and no rule of thumb held on
the machines we measured (docs/speed.md): bf16 autocast with channels_last is 2-2.4x the fp32 NCHW
step for fastnet, lenet_wide and resnet18, but for lenet_modern (6 and 16 channels) channels_last
loses 10-25% (batch norm over a few channels in NHWC is several times slower than in NCHW), and
for the sigmoid LeNet bf16 loses. So, like cuDNN's benchmark mode, `auto` times a few training
steps of each candidate on random data of the run's shape and batch size, alternating rounds, and
takes the lowest median. The answer is cached per model, shape, batch size, thread count, CPU and
torch version, so later runs on the machine agree and pay nothing; a run stores what it used, so
a resumed run continues with the same setup.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from ..atomic import read_json_dict, write_json
from ..data import cache_root
from ..timing import alternating_medians, machine, seconds_of
from .optim import MomentumSGD
from .tasks import CLASSIFICATION, Task

TUNE_CACHE = "tune.json"
MAX_TIMED_BATCH = 512  # examples per timed step: larger batches cost proportionally more, and rank the same
LIMIT_S = 30.0  # seconds of timing at most; setups not reached by then are not candidates


@dataclass(frozen=True)
class Setup:
    precision: str  # fp32 | bf16
    channels_last: bool

    @property
    def label(self) -> str:
        return f"{self.precision} {'channels_last' if self.channels_last else 'NCHW'}"


def candidate_setups(precision: str, channels_last: bool | None, fast_bf16: bool) -> list[Setup]:
    """Every setup the settings allow: `auto` precision tries bf16 only where the CPU computes it
    natively (elsewhere it is emulated and always loses); `None` layout tries both."""
    precisions = (["fp32", "bf16"] if fast_bf16 else ["fp32"]) if precision == "auto" else [precision]
    layouts = [False, True] if channels_last is None else [channels_last]
    return [Setup(p, c) for p in precisions for c in layouts]


def time_setups(build: Callable[[], torch.nn.Module], input_shape: tuple[int, int, int], num_classes: int,
                batch_size: int, setups: list[Setup], budget_s: float = 1.5, rounds: int = 3,
                max_steps: int = 5, task: Task = CLASSIFICATION, limit_s: float = LIMIT_S) -> dict[Setup, float]:
    """Median milliseconds per training step (forward, backward, SGD) of each setup, on random data.

    One warm-up step each (kernel selection, first allocations), then `rounds` alternating rounds
    of 1 to `max_steps` steps, as many as fit in about `budget_s` judging by the warm-up. When the
    warm-up steps alone exceed the budget (a large model: its step is compute-bound and steady),
    one timed step each decides. Once the warm-ups have taken `limit_s`, the setups not reached are
    left out and the warm-up times decide: the answer may then hold fewer setups than asked.
    """
    steps, first = {}, {}
    x = torch.randn(batch_size, *input_shape)
    y = torch.randint(0, num_classes, (batch_size, *input_shape[1:]) if task.name == "segmentation" else (batch_size,))
    for setup in setups:
        steps[setup] = _step_fn(build(), x, y, setup, task)
        first[setup] = seconds_of(steps[setup])
        if sum(first.values()) > limit_s:
            return {s: seconds * 1e3 for s, seconds in first.items()}
    warmup = sum(first.values())
    rounds = rounds if warmup <= budget_s else 1
    per_round = min(max_steps, max(1, round(budget_s / rounds / max(warmup, 1e-6))))
    medians = alternating_medians(steps, rounds, calls=per_round, warmup=False)  # warmed up above
    return {s: seconds * 1e3 for s, seconds in medians.items()}


def _step_fn(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, setup: Setup,
             task: Task) -> Callable[[], None]:
    layout = torch.channels_last if setup.channels_last else torch.contiguous_format
    model = model.train().to(memory_format=layout)
    x = x.contiguous(memory_format=layout)
    optimizer = MomentumSGD(model.parameters(), lr=1e-3, momentum=0.9)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=setup.precision == "bf16"):
            outputs = model(x)
        loss, *_ = task.loss_sum(outputs, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss.item()

    return step


def fastest_setup(key: dict, build: Callable[[], torch.nn.Module], input_shape: tuple[int, int, int],
                  num_classes: int, batch_size: int, setups: list[Setup],
                  log: Callable[[str], None] = print, task: Task = CLASSIFICATION) -> Setup:
    """The fastest of `setups` for this key (from the cache, else measured now and cached)."""
    if len(setups) == 1:
        return setups[0]
    timed_batch = min(batch_size, MAX_TIMED_BATCH)
    cache_key = json.dumps({**key, "batch_size": timed_batch, "input": list(input_shape),
                            "classes": num_classes, "setups": [asdict(s) for s in setups], **machine(),
                            **({"task": task.name} if task.name != "classification" else {})},
                           sort_keys=True)
    cache = read_json_dict(cache_root() / TUNE_CACHE)
    if cache_key in cache:
        return Setup(**cache[cache_key]["setup"])
    started = time.perf_counter()
    batch_note = f" at batch {timed_batch} (of {batch_size})" if timed_batch < batch_size else ""
    log(f"auto setup: timing {len(setups)} setups ({', '.join(s.label for s in setups)}) for a few steps "
        f"each{batch_note}, at most {LIMIT_S:.0f} s (--precision with --[no-]channels-last skips it)")
    times = time_setups(build, input_shape, num_classes, timed_batch, setups, task=task)
    best = min(times, key=times.get)
    cut = f"; stopped at the {LIMIT_S:.0f} s limit, {len(times)} of {len(setups)} timed" if len(times) < len(setups) else ""
    log(f"auto setup: {best.label} (ms per step measured now: "
        + ", ".join(f"{s.label} {ms:.1f}" for s, ms in times.items())
        + f"; {time.perf_counter() - started:.1f} s{cut}, cached in {cache_root() / TUNE_CACHE})")
    cache[cache_key] = {"setup": asdict(best), "ms_per_step": {s.label: ms for s, ms in times.items()}}
    try:
        write_json(cache_root() / TUNE_CACHE, cache)
    except OSError as exc:  # a read-only home costs a measurement per run, not the run
        log(f"note: could not cache the setup ({exc.strerror or exc}); it will be measured again next time")
    return best
