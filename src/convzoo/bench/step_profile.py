"""`convzoo bench train MODEL --profile`: where convzoo's training step spends its time.

torch.profiler records `steps` steps; each operator's self CPU time goes to the outermost region
(REGIONS: the next batch, the optimizer) it runs inside, else to the first of FAMILIES that its
name or, failing that, its nearest enclosing operator's name matches (the `fill_` that pooling's
backward zeroes with is pooling), else to OTHER. The time no operator covers (Python between
operators, the profiler's bookkeeping) is a row of its own: the rows sum to the profiled step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from torch.profiler import ProfilerActivity, profile, record_function
from torch.utils.flop_counter import FlopCounterMode

from ..data import DataBundle
from ..errors import ConvzooError
from ..timing import forever, seconds_of
from .train import check_one_batch, convzoo_step

WARMUP_STEPS = 5  # kernel selection and first allocations happen before the profile
BATCH_LABEL = "convzoo: next batch"  # profiler labels this module puts around what torch does not label
OPTIMIZER_LABEL = "convzoo: optimizer"
CONV_FORWARD, CONV_BACKWARD = "convolution forward", "convolution backward"
UNCOVERED = "Python, profiler (between operators)"
OTHER = "element-wise, loss, other"
DATA, OPTIMIZER = "data: next batch (index, augment, normalise)", "optimizer step + zero_grad"
# Regions: labelled calls that claim every operator inside them (the outermost wins), so the `to`
# that casts a batch of images is data and the `mul_` of a momentum update is the optimizer's.
REGIONS: list[tuple[str, str]] = [
    (DATA, re.escape(BATCH_LABEL)),
    (OPTIMIZER, rf"{re.escape(OPTIMIZER_LABEL)}|^Optimizer\.(step|zero_grad)"),  # torch.optim labels its own
]
# Operator families: the first pattern found in an operator's name wins (backward before forward);
# an operator that matches none is its nearest enclosing operator's family, else OTHER.
FAMILIES: list[tuple[str, str]] = [
    (OPTIMIZER, r"_foreach_"),
    (CONV_BACKWARD, r"convolution_backward|ConvolutionBackward|conv\w*_backward|Conv\w*Backward"),
    (CONV_FORWARD, r"conv\w*\dd|convolution"),
    ("batch norm (fwd + bwd)", r"(?i)batch_?norm"),
    ("pooling (fwd + bwd)", r"(?i)pool"),
    ("activations (fwd + bwd)", r"(?i)relu|clamp_min|threshold|gelu|silu|sigmoid|tanh|hardswish|softplus|mish"),
    ("linear layers (fwd + bwd)", r"aten::linear|aten::addmm|aten::mm$|aten::matmul|AddmmBackward|MmBackward"),
    ("casts between precisions", r"aten::to$|aten::_to_copy|ToCopyBackward"),
]
_REGIONS = [(family, re.compile(pattern)) for family, pattern in REGIONS]
_FAMILIES = [(family, re.compile(pattern)) for family, pattern in FAMILIES]


def _match(name: str, table) -> str | None:
    return next((family for family, pattern in table if pattern.search(name)), None)


def family_of(name: str) -> str:
    """The family of an operator (or region label) by its name alone; OTHER for a name no pattern knows."""
    return _match(name, _REGIONS) or _match(name, _FAMILIES) or OTHER


def self_times_by_family(events) -> dict[str, dict[str, float]]:
    """{family: {operator: microseconds of self CPU time}}: an event inside a region is the outermost
    region's, else its own operator family's or, where its name names none, its nearest enclosing event's."""
    times: dict[str, dict[str, float]] = {}
    for event in events:
        chain, node = [], event
        while node is not None:
            chain.append(node.name)
            node = node.cpu_parent
        family = (next(filter(None, (_match(n, _REGIONS) for n in reversed(chain))), None)
                  or next(filter(None, (_match(n, _FAMILIES) for n in chain)), OTHER))
        ops = times.setdefault(family, {})
        ops[event.name] = ops.get(event.name, 0.0) + event.self_cpu_time_total
    return times


def conv_flops(counts: dict) -> dict[str, int]:
    """FlopCounterMode's global counts ({op: FLOPs}) as the convolutions' forward and backward FLOPs."""
    flops = {CONV_FORWARD: 0, CONV_BACKWARD: 0}
    for op, n in ((str(op), n) for op, n in counts.items() if "conv" in str(op)):
        flops[CONV_BACKWARD if "backward" in op else CONV_FORWARD] += n
    return flops


def labelled(label: str, fn):
    """`fn` with its calls recorded under `label`, so the operators it runs are its family's."""
    def call(*args, **kwargs):
        with record_function(label):
            return fn(*args, **kwargs)
    return call


@dataclass
class StepProfile:
    model: str
    batch_size: int
    steps: int  # profiled, after WARMUP_STEPS
    precision: str  # fp32 | bf16: the step's, whose peak the rates are compared with
    layout: str
    step_ms: float  # per step, unprofiled (the same steps, timed without the profiler)
    profiled_ms: float  # per step under the profiler: the rows' total
    family_ms: dict[str, dict[str, float]]  # per step, per family and operator
    flops: dict[str, int]  # per step: the convolution families' and the whole step's ("step")

    def to_dict(self, peak: float | None) -> dict:
        """The step's rows, each with its share; the convolutions' and the step's rates as a share of `peak`."""
        rows = []
        for family, ops in sorted(self.family_ms.items(), key=lambda kv: -sum(kv[1].values())):
            ms, largest = sum(ops.values()), sorted((kv for kv in ops.items() if kv[0]), key=lambda kv: -kv[1])[:3]
            row = {"family": family, "ms_per_step": ms, "percent": 100 * ms / self.profiled_ms,
                   "largest": [{"operator": name, "ms_per_step": t} for name, t in largest]}
            if family in self.flops:
                row["gflops"] = self.flops[family] / ms / 1e6
                row["percent_of_peak"] = 100 * row["gflops"] / peak if peak else None
            rows.append(row)
        step_gflops = self.flops["step"] / self.step_ms / 1e6
        return {"model": self.model, "batch_size": self.batch_size, "steps": self.steps,
                "warmup_steps": WARMUP_STEPS, "precision": self.precision, "layout": self.layout,
                "step_ms": self.step_ms, "profiled_step_ms": self.profiled_ms, "flops_per_step": self.flops,
                "step_gflops": step_gflops, "step_percent_of_peak": 100 * step_gflops / peak if peak else None,
                "families": rows}


def profile_step(model_name: str, bundle: DataBundle, batch_size: int = 128, steps: int = 20,
                 precision: str = "auto", model_kwargs: dict | None = None) -> StepProfile:
    """convzoo's training step as `bench train`'s last row runs it (the Trainer's setup, batches
    included): timed for `steps` steps, then the same number profiled, after WARMUP_STEPS."""
    check_one_batch(bundle, batch_size)
    run, trainer = convzoo_step(model_name, bundle, batch_size, dict(model_kwargs or {}), precision, None)
    if trainer.runtime.device.type != "cpu":  # a GPU's kernels run after their CPU-side launch returns
        raise ConvzooError(f"--profile times operators on the CPU; this step runs on {trainer.runtime.device}")
    run(WARMUP_STEPS)
    step_ms = 1e3 * seconds_of(lambda: run(steps)) / steps
    optimizer = trainer.trained.optimizer
    optimizer.step, optimizer.zero_grad = (labelled(OPTIMIZER_LABEL, f) for f in (optimizer.step, optimizer.zero_grad))
    batches = forever(trainer.train_batches)
    next_batch = labelled(BATCH_LABEL, lambda: next(batches))
    with FlopCounterMode(display=False) as counter:
        trainer.train_step(*next_batch())
    flops = {**conv_flops(counter.get_flop_counts().get("Global", {})), "step": counter.get_total_flops()}
    with profile(activities=[ProfilerActivity.CPU]) as recorded:
        wall = seconds_of(lambda: [trainer.train_step(*next_batch()) for _ in range(steps)])
    times = self_times_by_family(recorded.events())
    uncovered = 1e6 * wall - sum(sum(ops.values()) for ops in times.values())
    times[UNCOVERED] = {"": max(uncovered, 0.0)}  # negative only if operators overlapped in threads
    family_ms = {family: {name: us / 1e3 / steps for name, us in ops.items()} for family, ops in times.items()}
    return StepProfile(model_name, batch_size, steps, trainer.runtime.precision,
                       "channels_last" if trainer.setup.channels_last else "NCHW",
                       step_ms, sum(sum(ops.values()) for ops in family_ms.values()), family_ms, flops)
