"""`convzoo bench infer`: latency at batch 1 and throughput at a large batch."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import torch

from ..timing import LatencyPercentiles, seconds_of
from ..train import Runtime


@dataclass
class InferBench(LatencyPercentiles):
    precision: str
    latency_ms: list[float]  # batch-1 latencies
    throughput: float  # examples/s at the large batch (median of the timed calls)
    batch_size: int


def bench_infer(model: torch.nn.Module, input_shape: tuple[int, int, int], precision: str,
                calls: int = 200, batch_size: int = 256, batches: int = 5) -> InferBench:
    """Batch-1 latency over `calls` calls and batch-`batch_size` throughput over `batches` calls,
    in eval mode under inference_mode, channels_last, with `precision` (fp32 or bf16) autocast."""
    runtime = Runtime(torch.device("cpu"), precision)
    model = model.eval().to(memory_format=torch.channels_last)

    def inputs(n):
        return torch.randn(n, *input_shape).contiguous(memory_format=torch.channels_last)

    one, many = inputs(1), inputs(batch_size)
    with torch.inference_mode(), runtime.autocast():
        model(one), model(many)  # warm-up
        latency = [seconds_of(lambda: model(one)) * 1e3 for _ in range(max(calls, 1))]
        rates = [batch_size / seconds_of(lambda: model(many)) for _ in range(max(batches, 1))]
    return InferBench(precision, latency, statistics.median(rates), batch_size)
