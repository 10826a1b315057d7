"""Multi-process training on PyTorch's own engine: torchrun starts the processes, this joins them.

`torchrun --standalone --nproc-per-node=N -m convzoo train ...` sets RANK, LOCAL_RANK and
WORLD_SIZE; `init` joins the process group (gloo on CPU, nccl on CUDA) with a timeout, so a rank
that dies makes the others fail within it instead of waiting forever (torchrun's agent also stops
the survivors and exits non-zero). The Trainer wraps its model in DistributedDataParallel, which
averages gradients over the processes; every collective the Trainer needs besides is here.

Batch norm across processes: torch's SyncBatchNorm runs on GPUs only, so on CPUs `--sync-bn` uses
`CPUSyncBatchNorm`, which sums the batch statistics with a differentiable all-reduce (its backward
all-reduces the statistics' gradients, as torch's SyncBatchNorm does on GPUs).
"""

from __future__ import annotations

import os
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

from ..errors import ConvzooError


def env_world() -> tuple[int, int, int]:
    """(rank, local rank, world size) as torchrun set them; (0, 0, 1) without torchrun."""
    try:
        return (int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0")),
                int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        raise ConvzooError("RANK, LOCAL_RANK and WORLD_SIZE must be integers (set by torchrun)") from None


def init(device: torch.device, timeout_s: float) -> None:
    """Join the process group torchrun describes (idempotent)."""
    if dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    try:
        dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s),
                                device_id=device if device.type == "cuda" else None)
    except (RuntimeError, ValueError) as exc:
        raise ConvzooError(f"could not join the {backend} process group ({str(exc).splitlines()[0][:160]}); "
                           "start multi-process training with torchrun") from None


# What gloo and nccl say when the other processes stop answering: a rank froze (stopped, stuck in
# a loop, swapping) or died. The collective then fails after the process group's timeout.
_PEER_FAILURES = ("timed out", "timeout", "connection closed by peer", "connection reset by peer",
                  "broken pipe", "watchdog")


def peer_failure(exc: BaseException, timeout_s: float) -> ConvzooError | None:
    """One line for a collective that failed because another process stopped answering (None when
    `exc` is anything else): this rank, the world and the timeout, not gloo's C++ traceback."""
    if not isinstance(exc, RuntimeError) or not any(p in str(exc).lower() for p in _PEER_FAILURES):
        return None
    rank, _, world = env_world()
    others = "rank 1" if world == 2 and rank == 0 else "rank 0" if world == 2 else "the other processes"
    return ConvzooError(f"rank {rank} of {world}: no answer from {others} within --dist-timeout {timeout_s:g} s "
                        "(a process froze or died); the last finished epoch is kept: resume with --resume RUN")


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """The sum over processes (a copy; the input is untouched). gloo reduces on the CPU."""
    if not active():
        return tensor
    out = tensor.detach().clone()
    dist.all_reduce(out)
    return out


def broadcast(obj, src: int = 0):
    """`obj` of rank `src` on every rank (pickled by torch: use plain values only)."""
    if not active():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def gather(obj) -> list:
    """Every rank's `obj`, in rank order, on every rank."""
    if not active():
        return [obj]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    if active():
        dist.barrier()


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


class CPUSyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm whose training statistics are those of the global batch over all processes.

    Same parameters and buffers as BatchNorm1d/2d (checkpoints load into either); outside DDP
    training it is plain batch norm.
    """

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and active()):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        dims = [0, *range(2, x.dim())]
        local = x.float()
        count = torch.tensor([x.numel() / x.shape[1]], dtype=torch.float32, device=x.device)
        stats = all_reduce(torch.cat([local.sum(dims), (local * local).sum(dims), count]))  # differentiable
        c = x.shape[1]
        n = stats[-1]
        mean = stats[:c] / n
        var = (stats[c:2 * c] / n - mean * mean).clamp(min=0)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                factor = self.momentum if self.momentum is not None else 1 / self.num_batches_tracked.item()
                self.running_mean.lerp_(mean.detach(), factor)
                self.running_var.lerp_(var.detach() * n / (n - 1).clamp(min=1), factor)
        shape = [1, c] + [1] * (x.dim() - 2)
        y = (local - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)


def convert_sync_batchnorm(model: nn.Module, device: torch.device) -> nn.Module:
    """Batch norm over the global batch: torch's SyncBatchNorm on GPUs, CPUSyncBatchNorm on CPUs."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    for name, child in model.named_children():
        if isinstance(child, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
            sync = CPUSyncBatchNorm(child.num_features, child.eps, child.momentum, child.affine,
                                    child.track_running_stats)
            sync.load_state_dict(child.state_dict())
            setattr(model, name, sync)
        else:
            convert_sync_batchnorm(child, device)
    return model
