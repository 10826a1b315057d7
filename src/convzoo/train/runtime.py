"""The one place that knows where and how training runs: device, process rank, precision, output.

Multi-process training (DDP under torchrun) changes only this file's answers: `rank` and
`world_size` come from the environment torchrun sets, only rank 0 logs and writes, and the batch
loader shards its permutation by rank. Until DDP lands, world_size is 1.
"""

from __future__ import annotations

import contextlib
import functools
import os
import platform
import random
import sys
from dataclasses import dataclass

import numpy as np
import torch


@functools.cache
def cpu_has_fast_bf16() -> bool:
    """AMX or AVX512-BF16 make bf16 autocast a real speedup; elsewhere it is emulated and slow."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def machine() -> dict:
    """What a measurement depends on: CPU, threads, torch."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "threads": torch.get_num_threads(), "torch": torch.__version__}


def pick_device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def resolve_precision(precision: str, device: torch.device) -> str:
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
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
    precision: str  # resolved: fp32 | bf16
    rank: int = 0
    world_size: int = 1
    progress: bool = False

    @classmethod
    def create(cls, precision: str = "auto", threads: int = 0, progress: bool | None = None) -> Runtime:
        device = pick_device()
        if threads:
            torch.set_num_threads(threads)
        rank = int(os.environ.get("RANK", "0"))
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if progress is None:
            progress = sys.stderr.isatty()
        return cls(device, resolve_precision(precision, device), rank, world_size, progress and rank == 0)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def autocast(self):
        """bf16 autocast for the forward pass; weights and the loss stay fp32."""
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def log(self, message: str) -> None:
        if self.is_main:
            print(message, flush=True)
