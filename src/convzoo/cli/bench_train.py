"""`convzoo bench train MODEL`: convzoo's training step against the textbook loop, same process.

The textbook loop: a DataLoader over a TensorDataset of float tensors (per sample), fp32, NCHW,
plain SGD. convzoo's: the Trainer's step (resident uint8 data, whole-batch translate and flip,
precision and memory format as `convzoo train` picks them: measured fastest, cached); a middle
row runs convzoo's data pipeline with the textbook's numerics (fp32, NCHW), which separates the
two gains. Alternating rounds, medians; training FLOP/s (forward + backward, counted by
FlopCounterMode) as a share of `bench peak`'s rate. `--profile` instead profiles convzoo's step
(bench/step_profile.py): its time by family (convolutions, batch norm, pooling, ...), and the
convolutions' own GFLOP/s as a share of the estimated peak.
"""

from __future__ import annotations

from . import argtypes
from .argtypes import MAX_BATCH, MAX_ROUNDS
from .bench_data import add_data_arguments, load_bench_data
from .output import Result


def register(bench_sub) -> None:
    p = bench_sub.add_parser("train", help="convzoo's training step vs the textbook loop (examples/s)",
                             description=__doc__.splitlines()[0])
    p.add_argument("model", help="a registered model; built for the dataset's shape")
    p.add_argument("--batch-size", type=argtypes.integer(1, MAX_BATCH), default=128)
    p.add_argument("--steps", type=argtypes.integer(1, 100_000), default=20, help="steps per round and loop (default 20)")
    p.add_argument("--rounds", type=argtypes.integer(1, MAX_ROUNDS), help="alternating rounds (default 5; medians; "
                                                                         "not with --profile, which profiles once)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="convzoo's precision (default auto: the faster for this model, measured; the textbook loop is fp32)")
    p.add_argument("--profile", action="store_true",
                   help="instead of the comparison, profile convzoo's step (--steps steps under torch.profiler "
                        "after warm-up steps): where its time goes, by family")
    add_data_arguments(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args) -> Result:
    from ..bench.peak import estimate_peak, machine_peak
    from ..bench.train import bench_train
    from ..errors import ConvzooError
    from ..models import model_info
    from ..timing import machine, peak_rss_mib

    if args.profile and args.rounds is not None:
        raise ConvzooError("--profile profiles --steps steps once: --rounds is for the comparison; leave it out")
    model_info(args.model)  # an unknown name fails before the data loads
    bundle = load_bench_data(args)
    if args.profile:
        return run_profile(args, bundle)
    result = bench_train(args.model, bundle, args.batch_size, args.steps, args.rounds or 5, args.precision)
    peak, measured = machine_peak()
    estimate = estimate_peak()
    loops = loop_rates(result, peak, estimate)
    data = {**result.to_dict(), "loops": loops, "data": bundle.name, "machine": machine(),
            "peak_gflops": peak, "peak_measured_now": measured, "peak_estimate": estimate,
            "peak_rss_mib": peak_rss_mib()}
    return Result(data, [report(result, bundle.name, loops, peak, measured, estimate, data["peak_rss_mib"])])


def loop_rates(result, peak: dict, estimate: dict) -> list[dict]:
    """Each loop's row with the whole step's GFLOP/s (training FLOPs per example x examples/s), as a
    share of the estimated peak of its precision and of the measured matrix-product rate."""
    rows = []
    for row, loop in zip(result.to_dict()["loops"], result.loops):
        gflops = loop.rate * result.flops_per_example / 1e9
        rows.append({**row, "gflops": gflops,
                     "percent_of_peak": 100 * gflops / estimate[loop.precision] if estimate else None,
                     "percent_of_matmul": 100 * gflops / peak[loop.precision]})
    return rows


def report(result, data: str, loops: list[dict], peak: dict, measured: bool, estimate: dict, rss: float) -> str:
    from ..tables import text_table
    from ..timing import machine

    m = machine()
    rows = [(r["name"], r["precision"], r["layout"], r["data"], f"{r['examples_per_sec']:,.0f}",
             f"{r['ratio']:.2f}x", f"{r['gflops']:,.1f}",
             "-" if r["percent_of_peak"] is None else f"{r['percent_of_peak']:.1f}%", f"{r['percent_of_matmul']:.1f}%")
            for r in loops]
    how = (f"estimated peak fp32 {estimate['fp32']:,.0f}, bf16 {estimate['bf16']:,.0f} GFLOP/s: {estimate['how']}"
           if estimate else "estimated peak: unknown (no /proc/cpuinfo)")
    return "\n".join([
        (f"bench train: {result.model}, batch {result.batch_size}, {data}; {result.rounds} alternating "
         f"rounds of {result.steps} steps, medians; {m['cpu']}, {m['threads']} threads, torch {m['torch']}"),
        text_table(("loop", "precision", "layout", "data", "examples/s", "ratio", "GFLOP/s", "of peak",
                    "of matmul"), rows),
        (f"training FLOPs: {result.flops_per_example / 1e6:,.2f} MFLOP per example (forward + backward, "
         "FlopCounterMode: convolutions, linear layers, matrix products)"),
        how,
        (f"measured matrix-product rate fp32 {peak['fp32']:,.0f}, bf16 {peak['bf16']:,.0f} GFLOP/s "
         f"({'measured now' if measured else 'cached'}; `convzoo bench peak` remeasures)"),
        f"peak RSS {rss:,.0f} MiB"])


def run_profile(args, bundle) -> Result:
    """`--profile`: the step's time by family, the convolutions' and the step's rates against the estimated peak."""
    from ..bench.peak import estimate_peak
    from ..bench.step_profile import profile_step
    from ..timing import machine, peak_rss_mib

    profiled = profile_step(args.model, bundle, args.batch_size, args.steps, args.precision)
    estimate = estimate_peak()
    peak = estimate.get(profiled.precision)
    data = {**profiled.to_dict(peak), "data": bundle.name, "machine": machine(), "peak_estimate": estimate,
            "peak_rss_mib": peak_rss_mib()}
    return Result(data, profile_report(data))


def profile_report(data: dict) -> list:
    from ..tables import Grid

    m, precision = data["machine"], data["precision"]

    def percent(value) -> str:
        return "-" if value is None else f"{value:.1f}%"

    def short(operator: str) -> str:
        return operator.removeprefix("aten::").removeprefix("autograd::engine::evaluate_function: ")

    rows = [(r["family"], f"{r['ms_per_step']:.2f}", f"{r['percent']:.1f}%",
             f"{r['gflops']:,.1f}" if "gflops" in r else "", percent(r["percent_of_peak"]) if "gflops" in r else "",
             ", ".join(short(op["operator"]) for op in r["largest"][:2]))
            for r in data["families"]]
    estimate = data["peak_estimate"]
    how = (f"estimated peak {precision} {estimate[precision]:,.0f} GFLOP/s: {estimate['how']}" if estimate
           else "estimated peak: unknown (no /proc/cpuinfo)")
    return [
        (f"bench train --profile: {data['model']}, batch {data['batch_size']}, {data['data']}, {precision} "
         f"{data['layout']}; {data['steps']} steps under torch.profiler after {data['warmup_steps']} warm-up "
         f"steps; {m['cpu']}, {m['threads']} threads, torch {m['torch']}"),
        Grid(("family", "ms/step", "of step", "GFLOP/s", "of peak", "largest operators"), rows, right={1, 2, 3, 4}),
        (f"step: {data['step_ms']:.2f} ms unprofiled, {data['profiled_step_ms']:.2f} ms profiled (the rows' sum); "
         f"{data['flops_per_step']['step'] / 1e6:,.1f} MFLOP per step (FlopCounterMode), "
         f"{data['step_gflops']:,.1f} GFLOP/s unprofiled, {percent(data['step_percent_of_peak'])} of peak"),
        ("each operator's self CPU time: inside the batch's or the optimizer's call, theirs; else its own "
         "family's or its nearest enclosing operator's (convzoo.bench.step_profile.FAMILIES)"),
        "convolution GFLOP/s: their FLOPs per step (FlopCounterMode) / their profiled time",
        how,
        f"peak RSS {data['peak_rss_mib']:,.0f} MiB"]
