"""Learning-rate schedules as pure functions of the step, so a resumed run needs only the step."""

from __future__ import annotations

import math


def lr_factor(schedule: str, step: int, total_steps: int, warmup_steps: int = 0,
              step_size: int = 0, gamma: float = 0.1) -> float:
    """Multiplier of the peak learning rate at `step` (0-based) of `total_steps`.

    constant: 1. step: gamma ** (step // step_size). cosine: half a cosine from 1 to 0.
    onecycle: linear warm-up from 1/25 to 1, then cosine to 1/25/1e4 (Smith's one-cycle, as in
    torch's OneCycleLR with its default div factors). Any schedule may have a linear warm-up.
    """
    if warmup_steps and step < warmup_steps:
        start = 1 / 25
        return start + (1 - start) * step / warmup_steps
    if schedule == "constant":
        return 1.0
    if schedule == "step":
        return gamma ** (step // max(step_size, 1))
    progress = (step - warmup_steps) / max(total_steps - warmup_steps, 1)
    progress = min(max(progress, 0.0), 1.0)
    end = 1 / 25 / 1e4 if schedule == "onecycle" else 0.0
    return end + (1 - end) * 0.5 * (1 + math.cos(math.pi * progress))
