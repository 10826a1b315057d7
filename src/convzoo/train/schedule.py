"""Learning-rate schedules as pure functions of the step, so a resumed run needs only the step."""

from __future__ import annotations

import math

# LeNet-5's paper (LeCun et al. 1998, sec. V.B): eta = 0.0005 for 2 passes, 0.0002 for 3, 0.0001 for 3,
# 0.00005 for 4, then 0.00001; as (first pass, factor of the first eta). A pass is the paper's, over its
# 60,000 training digits, so a smaller training set steps down after as many digits seen, not epochs.
LECUN98 = ((0, 1.0), (2, 0.4), (5, 0.2), (8, 0.1), (12, 0.02))
LECUN98_PASS = 60_000


def lr_factor(schedule: str, step: int, total_steps: int, warmup_steps: int = 0,
              step_size: int = 0, gamma: float = 0.1, batch_size: int = 1,
              pass_size: int = LECUN98_PASS) -> float:
    """Multiplier of the peak learning rate at `step` (0-based) of `total_steps`.

    constant: 1. step: gamma ** (step // step_size). cosine: half a cosine from 1 to 0.
    onecycle: linear warm-up from 1/25 to 1, then cosine to 1/25/1e4 (Smith's one-cycle, as in
    torch's OneCycleLR with its default div factors). lecun98: LECUN98's factor for the paper's
    pass, counted in examples seen (`batch_size` a step) over passes of `pass_size` examples (the
    paper's 60,000 digits; its distorted training set was 600,000 patterns). Any schedule
    may have a linear warm-up.
    """
    if warmup_steps and step < warmup_steps:
        start = 1 / 25
        return start + (1 - start) * step / warmup_steps
    if schedule == "constant":
        return 1.0
    if schedule == "lecun98":
        paper_pass = step * batch_size / pass_size
        return next(factor for first, factor in reversed(LECUN98) if paper_pass >= first)
    if schedule == "step":
        return gamma ** (step // max(step_size, 1))
    progress = (step - warmup_steps) / max(total_steps - warmup_steps, 1)
    progress = min(max(progress, 0.0), 1.0)
    end = 1 / 25 / 1e4 if schedule == "onecycle" else 0.0
    return end + (1 - end) * 0.5 * (1 + math.cos(math.pi * progress))


def progressive_size(start: float, epochs: int, epoch: int, size: tuple[int, int]) -> tuple[int, int] | None:
    """The (height, width) epoch `epoch` (0-based) trains on when progressive resizing starts at the
    fraction `start` of the full `size` and grows linearly to it by the last epoch; None for full size."""
    scale = start + (1 - start) * epoch / (epochs - 1) if start and epochs > 1 else 1.0
    if scale >= 1:
        return None
    return tuple(max(round(side * scale), 1) for side in size)
