"""Measuring speed: timing helpers and the measurements behind `convzoo bench train|infer|peak|data`.

Pure functions that return numbers; the CLI modules only format them (and the web demo's bench
reuses the helpers). Comparisons are measured side by side in one process, alternating rounds,
and reported as medians: these machines are shared, so a ratio is meaningful where an absolute
time from another run would not be (DESIGN.md).
"""

from __future__ import annotations

import functools
import math
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from ..atomic import write_json
from ..bench.textbook import TextbookLoop, TextbookRecipe
from ..bench.timing import forever
from ..data import Augment, BatchLoader, DataBundle, cache_root
from ..train import Runtime, TrainConfig, Trainer
from ..train.runtime import machine


# ---- generic helpers -----------------------------------------------------------------------
def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between order statistics."""
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class LatencyPercentiles:
    """p50 and p99 of a result's `latency_ms` samples (shared by the benchmark result types)."""

    latency_ms: list[float]

    @property
    def p50(self) -> float:
        return percentile(self.latency_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latency_ms, 99)


def seconds_of(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """One line per row; columns of numbers right-aligned, columns of words left-aligned."""
    columns = list(zip(header, *rows))
    widths = [max(len(c) for c in column) for column in columns]
    numeric = [all(c[:1].isdigit() for c in column[1:]) and len(column) > 1 for column in columns]

    def line(cells):
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)).rstrip()

    return "\n".join([line(header), *(line(r) for r in rows)])


# ---- peak: the machine's matrix-multiply rate ----------------------------------------------
PEAK_CACHE = "peak.json"


def matmul_gflops(size: int, dtype: torch.dtype, repeats: int = 5) -> float:
    """Best rate over `repeats` products of two size x size matrices (2 n^3 FLOPs each), computed
    both as `a @ b` and as a 1x1 convolution: torch hands them to different libraries (MKL and
    oneDNN), and either may be the faster one on a given CPU (on AMD, oneDNN's fp32 is). The
    best, not the median, because noise from other processes only ever slows a run down."""
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    image = a.T.reshape(1, size, 1, size).contiguous(memory_format=torch.channels_last)  # (1, C, 1, W)
    kernel = b.reshape(size, size, 1, 1)
    best = math.inf
    for product in (lambda: a @ b, lambda: F.conv2d(image, kernel)):
        product()  # first call: the library picks and prepares its kernels
        best = min(best, *(seconds_of(product) for _ in range(max(repeats, 1))))
    return 2 * size**3 / best / 1e9


def measure_peak(size: int = 3072, repeats: int = 5) -> dict:
    """{"fp32": GFLOP/s, "bf16": GFLOP/s, "size": n, **machine()}."""
    return {"fp32": matmul_gflops(size, torch.float32, repeats),
            "bf16": matmul_gflops(size, torch.bfloat16, repeats), "size": size, **machine()}


def peak_cache_path() -> Path:
    return cache_root() / PEAK_CACHE


def cached_peak() -> dict | None:
    """The cached peak if it was measured on this machine configuration, else None."""
    import json

    try:
        peak = json.loads(peak_cache_path().read_text())
    except (OSError, ValueError):
        return None
    same = isinstance(peak, dict) and all(peak.get(k) == v for k, v in machine().items())
    return peak if same and {"fp32", "bf16"} <= set(peak) else None


def machine_peak(refresh: bool = False, size: int = 3072, repeats: int = 5) -> tuple[dict, bool]:
    """(peak, measured_now): the cache when valid, else a measurement that is then cached."""
    peak = None if refresh else cached_peak()
    if peak is not None:
        return peak, False
    peak = measure_peak(size, repeats)
    write_json(peak_cache_path(), peak)
    return peak, True


# ---- train: convzoo's training step against the textbook loop ------------------------------
@dataclass
class Loop:
    name: str
    precision: str  # fp32 | bf16
    layout: str  # NCHW | channels_last
    data: str
    rates: list[float]  # examples/s, one per round

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)


@dataclass
class TrainBench:
    model: str
    batch_size: int
    steps: int  # per round and loop
    rounds: int
    loops: list[Loop]  # the textbook loop first: ratios are against it
    flops_per_example: float  # forward + backward, from FlopCounterMode on one step

    def ratio(self, loop: Loop) -> float:
        return loop.rate / self.loops[0].rate


def training_flops(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """FLOPs of one forward + backward on (x, y) (convs, linears, matmuls; 2 per multiply-add)."""
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x).float(), y).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def _textbook(model_name: str, bundle: DataBundle, batch_size: int, kwargs: dict):
    """The textbook loop (convzoo.bench.textbook) with plain SGD at lr 0.01, torch's default
    initialisation, normalised inputs and equal batches: only its speed is measured here. Returns
    run(n), which runs n steps, data loading included."""
    recipe = TextbookRecipe(model_name, lr=0.01, batch_size=batch_size, xavier=False, normalize=True,
                            drop_last=True, model_kwargs=kwargs)
    return TextbookLoop(recipe, bundle).run


def _convzoo(model_name: str, bundle: DataBundle, batch_size: int, kwargs: dict, precision: str,
             channels_last: bool | None):
    """convzoo's Trainer step: resident uint8 data, whole-batch translate (+ flip) and normalise,
    then the step under `precision` in `channels_last` or NCHW (`auto`/None: the Trainer's measured
    choice, train/tune.py). Returns (run(n), trainer)."""
    config = TrainConfig(model=model_name, model_kwargs=kwargs, batch_size=batch_size, augment="auto",
                         precision=precision, channels_last=channels_last, progress=False)
    trainer = Trainer(config, data=bundle).prepare()
    trainer.model.train()
    batches = forever(trainer.train_batches)

    def run(steps: int) -> None:
        for _ in range(steps):
            trainer.train_step(*next(batches))

    return run, trainer


def bench_train(model_name: str, bundle: DataBundle, batch_size: int = 128, steps: int = 20,
                rounds: int = 5, precision: str = "auto", model_kwargs: dict | None = None) -> TrainBench:
    """Examples/s of the textbook loop, of convzoo's data pipeline with the textbook's numerics
    (fp32, NCHW), and of convzoo's step as the Trainer sets it up (`precision`, the measured faster
    memory format): `rounds` alternating rounds of `steps` steps each, after one warm-up step each."""
    kwargs = dict(model_kwargs or {})
    if len(bundle.train) < batch_size:
        raise ValueError(f"{len(bundle.train)} training examples are fewer than one batch of {batch_size}")
    textbook = _textbook(model_name, bundle, batch_size, kwargs)
    plain, _ = _convzoo(model_name, bundle, batch_size, kwargs, "fp32", channels_last=False)
    fast, trainer = _convzoo(model_name, bundle, batch_size, kwargs, precision, channels_last=None)
    batched = "resident uint8, batch aug."
    layout = "channels_last" if trainer.setup.channels_last else "NCHW"
    loops = [(Loop("textbook", "fp32", "NCHW", "DataLoader per sample", []), textbook),
             (Loop("convzoo", "fp32", "NCHW", batched, []), plain),
             (Loop("convzoo", trainer.runtime.precision, layout, batched, []), fast)]
    for _, run in loops:
        run(1)  # warm-up: kernel selection, first allocations
    for _ in range(max(rounds, 1)):
        for loop, run in loops:
            loop.rates.append(steps * batch_size / seconds_of(functools.partial(run, steps)))
    x, y = next(iter(trainer.train_batches))
    flops = training_flops(trainer.model, x, y)
    return TrainBench(model_name, batch_size, steps, rounds, [loop for loop, _ in loops], flops / batch_size)


# ---- infer: latency at batch 1, throughput at a large batch --------------------------------
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


# ---- data: one epoch of augmented batches, no model ----------------------------------------
@dataclass
class DataBench:
    examples: int
    batch_size: int
    convzoo_seconds: list[float]  # per epoch, whole-batch translate + flip
    textbook_seconds: list[float]  # per epoch, per-sample DataLoader over float tensors (no augmentation)

    @property
    def convzoo(self) -> float:
        return statistics.median(self.convzoo_seconds)

    @property
    def textbook(self) -> float:
        return statistics.median(self.textbook_seconds)


def bench_data(bundle: DataBundle, batch_size: int = 128, rounds: int = 3, augment: str = "crop+flip",
               textbook: bool = True) -> DataBench:
    """Seconds for one epoch of training batches (index, augment, normalise), alternating with the
    textbook DataLoader epoch (which does less: no augmentation)."""
    train = bundle.train
    loader = BatchLoader(train, batch_size, shuffle=True, augment=Augment.parse(augment, train.flippable),
                         channels_last=True, generator=torch.Generator().manual_seed(0))
    mean = torch.tensor(train.mean)[None, :, None, None]
    std = torch.tensor(train.std)[None, :, None, None]
    dataset = torch.utils.data.TensorDataset((train.images.float() / 255 - mean) / std, train.labels)
    textbook_loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True)

    def epoch(batches):
        for _ in batches:
            pass

    ours, theirs = [], []
    for _ in range(max(rounds, 1)):
        ours.append(seconds_of(lambda: epoch(loader)))
        if textbook:
            theirs.append(seconds_of(lambda: epoch(textbook_loader)))
    return DataBench(len(train), batch_size, ours, theirs)
