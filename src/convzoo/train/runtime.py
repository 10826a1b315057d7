"""The one place that knows where and how training runs: device, process rank, precision, output.

Under torchrun (train/distributed.py) `rank` and `world_size` come from the environment, the
process group is joined here, only rank 0 logs and writes, and each process takes its share of
every global batch. On CUDA each process uses the GPU of its local rank.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import sys
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ConvzooError


@functools.cache
def cpu_has_fast_bf16() -> bool:
    """AMX or AVX512-BF16 make bf16 autocast a real speedup; elsewhere it is emulated and slow."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


DEVICES = ("auto", "cpu", "cuda")


def pick_device(device: str = "auto", local_rank: int = 0) -> torch.device:
    """`auto`: the GPU of this process's local rank when CUDA is available, else the CPU."""
    if device not in DEVICES:
        raise ConvzooError(f"--device must be one of {', '.join(DEVICES)}, not {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConvzooError("--device cuda: no CUDA GPU is available to this torch "
                           f"({torch.__version__}); use --device cpu or a CUDA build of torch")
    if device != "cpu" and torch.cuda.is_available():
        if local_rank >= torch.cuda.device_count():
            raise ConvzooError(f"local rank {local_rank} has no GPU ({torch.cuda.device_count()} visible); "
                               "start at most one process per GPU")
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def resolve_precision(precision: str, device: torch.device) -> str:
    """`auto` on CUDA: bf16 where the GPU has it, else fp16 (with a GradScaler). On CPUs the
    Trainer measures instead (train/tune.py); this is the rule where it cannot."""
    if precision != "auto":
        if precision == "fp16" and device.type != "cuda":
            raise ConvzooError("--precision fp16 is for CUDA GPUs (on CPUs use bf16 or fp32)")
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if cpu_has_fast_bf16() else "fp32"


def seed_everything(seed: int, deterministic: bool = False) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=False)
        torch.backends.cudnn.benchmark = False
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


@dataclass
class Runtime:
    device: torch.device
    precision: str  # resolved: fp32 | bf16 | fp16 (CUDA only)
    rank: int = 0
    world_size: int = 1
    progress: bool = False

    @classmethod
    def create(cls, precision: str = "auto", threads: int = 0, progress: bool | None = None,
               device: str = "auto", dist_timeout: float = 300.0) -> Runtime:
        """The runtime of this process; under torchrun (WORLD_SIZE > 1) it joins the process group."""
        from . import distributed

        rank, local_rank, world_size = distributed.env_world()
        where = pick_device(device, local_rank)
        if where.type == "cuda":
            torch.cuda.set_device(where)
        if threads:
            torch.set_num_threads(threads)
        if world_size > 1:
            distributed.init(where, dist_timeout)
        if progress is None:
            progress = sys.stderr.isatty()
        return cls(where, resolve_precision(precision, where), rank, world_size, progress and rank == 0)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def autocast(self):
        """bf16 (or, on CUDA, fp16) autocast for the forward pass; weights and the loss stay fp32."""
        if self.precision in ("bf16", "fp16"):
            dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
            return torch.autocast(self.device.type, dtype=dtype)
        return contextlib.nullcontext()

    def grad_scaler(self) -> torch.amp.GradScaler | None:
        """fp16 gradients underflow without loss scaling; bf16 and fp32 need none."""
        return torch.amp.GradScaler("cuda") if self.precision == "fp16" else None

    def log(self, message: str) -> None:
        if self.is_main:
            print(message, flush=True)
