"""The one runner every study shares: plan the runs, train or resume each through the ordinary
engine (a normal run directory under OUT/runs/<run>-seed<k>), measure, then write results.json,
results.md, finding.md and the figures.

Resuming is the default: a finished run is read back from its checkpoint, a run with a
checkpoint but fewer epochs is resumed (`Trainer.resume`), a missing one is started. A run whose
loss blew up (the engine's "training diverged") is a result, not a failure: it is recorded in
`diverged.json` beside its checkpoint, counted at chance accuracy, and not retried. Any other
error marks that run failed; the others go on, the outputs are written from the finished ones,
and the error names the failed runs (running the same command again retries them).

Several processes or machines can share one study: `--shard I/N` makes a process train only every
N-th run (starting at I) in a shared OUT, and a plain invocation afterwards assembles the outputs;
`--jobs N` starts N such processes here, with the cores divided among them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..atomic import claim_folder, read_json_dict, write_json
from ..errors import ConvzooError
from ..experiments.failures import FAILED_FILE, forget_failure, remember_failure
from ..experiments.processes import engine_output, run_jobs, to_stderr
from ..experiments.runs import DIVERGED_FILE, inspect_run, read_diverged
from .base import FULL, QUICK, Measurement, Record, Results, Run, Setting, Study
from .datacache import DataCache, run_info
from .outputs import StudyResult, study_command, write_outputs

STATE_FILE = "study.json"
MAX_SEEDS = 100  # seeds per run: each multiplies the study's trainings
MAX_JOBS = 64
# Config fields a study run may differ in from what is on disk without being another run: where
# it is written, how it is shown, and what the engine itself changes when it resumes.
_NOT_COMPARED = {"out", "data_dir", "progress", "threads", "precision", "channels_last", "device", "compile",
                 "dist_timeout"}


def default_out(study: str, data: str, quick: bool) -> Path:
    return Path("studies") / f"{study}-{data}{'-quick' if quick else ''}"


def run_study(study: Study, *, quick: bool = False, seeds: int | None = None, data: str | None = None,
              data_dir: str | None = None, out: str | Path | None = None, threads: int = 0,
              shard: tuple[int, int] | None = None, jobs: int = 1, log=None) -> StudyResult:
    """Run (or resume) `study` and write its outputs; see the module docstring."""
    started = time.perf_counter()
    log = log or to_stderr
    setting_name = QUICK if quick else FULL
    setting = study.setting(setting_name)
    seeds = setting.seeds if seeds is None else seeds
    _check_counts(seeds, threads, jobs)  # before the folder is claimed
    data = data or study.data
    _check_dataset(study, data)
    out = Path(out) if out else default_out(study.name, data, quick)
    loader = DataCache(data, data_dir, setting)
    loader.shape()  # a missing or corrupt dataset fails here, once, not once per run
    _claim_out(out, study, setting_name, data)
    command = study_command(study.name, quick, seeds, data, data_dir, out)
    result = StudyResult(study.name, setting_name, data, seeds, str(out), command)

    plan = [(run, seed) for run in study.runs_for(setting_name) for seed in range(seeds)]
    mine = plan if shard is None else plan[shard[0]::shard[1]]
    run0, seed0 = plan[0]  # a bad flag (--threads) fails here, before any training
    _config(run0, seed0, setting_name, setting, data, data_dir, loader.train_size(seed0), _run_dir(out, run0, seed0),
            threads)
    if jobs > 1 and shard is None:
        run_jobs(jobs, study.name, quick, seeds, data, data_dir, out, log)
    where = f" (shard {shard[0]}/{shard[1]}: {len(mine)} of {len(plan)} runs)" if shard else ""
    log(f"study {study.name} ({setting_name}, {data}, {seeds} seed{'s' * (seeds > 1)}): {len(plan)} runs "
        f"in {out}{where}")
    records, counts = _run_arms(study, mine, setting_name, setting, loader, out, threads, data_dir, log)

    if shard is not None:
        left = _left_to_other_shards(plan, mine, out)
        if left:
            return _shard_result(result, shard, left, records, counts, started, log)
        # Every run is done: this shard assembles the outputs.
        for run, seed in plan:
            if (run.name, seed) not in records:
                records[run.name, seed] = _read_back(study, run, seed, setting, loader, out)

    ordered = [records[run.name, seed] for run, seed in plan]
    _analyse_and_write(result, study, setting, ordered, loader, out)
    result.counts = counts
    result.seconds = time.perf_counter() - started
    if result.failures:
        raise ConvzooError(f"study {study.name}: {len(result.failures)} run(s) failed ({'; '.join(result.failures)}); "
                           f"the {len(ordered) - len(result.failures)} others are kept and the outputs in {out} use "
                           "them; the same command retries the failed ones")
    return result


def _check_counts(seeds, threads: int, jobs: int) -> None:
    from ..train.config import MAX_THREADS

    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConvzooError(f"--seeds must be a whole number of at least 1, not {seeds}")
    if not 1 <= jobs <= MAX_JOBS:
        raise ConvzooError(f"--jobs must be from 1 to {MAX_JOBS}, not {jobs}")
    if seeds > MAX_SEEDS or not 0 <= threads <= MAX_THREADS:
        raise ConvzooError(f"--seeds must be at most {MAX_SEEDS}, not {seeds}" if seeds > MAX_SEEDS else
                           f"--threads must be >= 0 and <= {MAX_THREADS}, not {threads}")


def _check_dataset(study: Study, data: str) -> None:
    from ..data import dataset_spec

    spec = dataset_spec(data)  # an unknown dataset fails here, with suggestions
    if spec.task != "classification":
        raise ConvzooError(f"study {study.name} needs a classification dataset; {data} is {spec.task}")


def _run_arms(study, mine, setting_name, setting, loader, out, threads, data_dir, log):
    """Train, resume or read back each (run, seed) of `mine`: (records by (run name, seed), counts)."""
    records: dict[tuple[str, int], Record] = {}
    counts = {"started": 0, "resumed": 0, "read back": 0, "diverged": 0, "failed": 0}
    for index, (run, seed) in enumerate(mine, 1):
        record = _do_run(study, run, seed, setting_name, setting, loader, out, threads, data_dir,
                         f"[{index}/{len(mine)}]", len(mine) - index, log)
        records[run.name, seed] = record
        counts[record.trained or ("failed" if record.status == "failed" else "read back")] += 1
        counts["diverged"] += record.status == "diverged" and record.trained != ""
    return records, counts


def _failures(records) -> list[str]:
    return [f"{r.run.name}-seed{r.seed}: {r.message}" for r in records if r.status == "failed"]


def _left_to_other_shards(plan, mine, out: Path) -> list[str]:
    """The runs of `plan` outside `mine` that are not finished (or diverged) yet."""
    return [f"{run.name}-seed{seed}" for run, seed in plan if (run, seed) not in mine
            and inspect_run(out / "runs" / f"{run.name}-seed{seed}")[0] not in ("finished", "diverged")]


def _shard_result(result: StudyResult, shard, left, records, counts, started: float, log) -> StudyResult:
    """A shard's result while other shards still have runs to finish: counts, no outputs."""
    result.complete = False
    result.counts = {**counts, "left to other shards": len(left)}
    result.failures = _failures(records.values())
    result.seconds = time.perf_counter() - started
    log(f"shard {shard[0]}/{shard[1]} done; {len(left)} runs belong to other shards: run the command "
        "without --shard to assemble the study once they finish")
    return result


def _analyse_and_write(result: StudyResult, study, setting, ordered, loader, out: Path) -> None:
    """The study's statistics over every record, written to OUT and into `result` (with the failures)."""
    for record in ordered:
        record.chance = 1.0 / max(loader.classes(), 1)  # the data loaded: an imagefolder spec names no classes
    results = Results(study, result.setting, setting, result.data, result.seeds, ordered,
                      run_info(study, result.setting, loader), out)
    analysis = study.analyse(results)
    result.files = write_outputs(results, analysis, result.command, loader.sizes())
    result.columns, result.rows, result.finding, result.notes = (analysis.columns, analysis.rows,
                                                                 analysis.finding, analysis.notes)
    result.failures = _failures(ordered)
    result.drawn = results.drawn  # not a field: to_dict stays JSON


# ---- one run -------------------------------------------------------------------------------

def _run_dir(out: Path, run: Run, seed: int) -> Path:
    return out / "runs" / f"{run.name}-seed{seed}"


# Every study's numbers are quoted (docs/studies.md): fp32 NCHW unless a setting says otherwise, so
# that no machine's timing of `auto` picks another setup for a re-run (docs/training.md).
FIXED_SETUP = {"precision": "fp32", "channels_last": False}


def _config(run: Run, seed: int, setting_name: str, setting: Setting, data: str, data_dir, train_size,
            run_dir: Path, threads: int):
    from ..train import TrainConfig

    values = {"model": run.model, "model_kwargs": run.kwargs_for(setting_name), "data": data,
              "data_dir": data_dir, "train_size": train_size, "epochs": setting.epochs,
              "batch_size": setting.batch_size, "lr": setting.lr, "seed": seed, "out": str(run_dir),
              "progress": False, "threads": threads, **FIXED_SETUP, **setting.config, **run.overrides_for(setting_name)}
    try:
        return TrainConfig(**values)
    except TypeError as exc:  # a study table naming a field the config lacks: a bug in the table
        raise ValueError(f"run {run.name}: {exc}") from None


def _check_same(run_dir: Path, stored: dict, wanted) -> None:
    # A run saved before a setting existed ran as that setting's default: read it back through the
    # config (which fills in defaults) rather than comparing the raw file.
    want = json.loads(json.dumps(wanted.to_dict()))
    have = json.loads(json.dumps(type(wanted).from_dict(stored).to_dict()))
    for key, value in want.items():
        if key in _NOT_COMPARED or have.get(key) == value:
            continue
        raise ConvzooError(f"{run_dir} holds a run with other settings ({key}: {have.get(key)!r}, the study "
                           f"wants {value!r}); use another --out or remove that directory")


def _do_run(study, run, seed, setting_name, setting, loader, out, threads, data_dir, tag, left, log) -> Record:
    from ..train import Trainer

    run_dir = _run_dir(out, run, seed)
    name = f"{run.name} seed {seed}"
    bundle = loader.bundle(seed)
    config = _config(run, seed, setting_name, setting, loader.data, data_dir, loader.train_size(seed), run_dir,
                     threads)
    try:
        state, payload = inspect_run(run_dir)
        if state in ("finished", "partial"):
            _check_same(run_dir, payload["config"], config)
        if state in ("finished", "diverged"):
            log(f"{tag} {name}: {state}, read back ({left} left)")
            return _record(study, run, seed, setting, bundle, run_dir, payload, "")
        verb = "resuming from epoch " + str(payload["epoch"]) if state == "partial" else "training"
        log(f"{tag} {name}: {verb} ({run.model}, {config.epochs} epochs; {left} left after this)")
        with engine_output(log):
            if state == "partial":
                trainer = Trainer.resume(run_dir, data=bundle, threads=threads, progress=False)
            else:
                trainer = Trainer(config, data=bundle)
            trainer.fit()
        trained = "resumed" if state == "partial" else "started"
        forget_failure(run_dir)
        return _record(study, run, seed, setting, bundle, run_dir, None, trained)
    except ConvzooError as exc:
        message = str(exc)
        if message.startswith("training diverged"):
            write_json(run_dir / DIVERGED_FILE, {"message": message})
            log(f"{tag} {name}: diverged ({message.split(';')[0]})")
            return Record(run, seed, run_dir, "diverged", message=message, trained="started")
        message = remember_failure(run_dir, message)
        log(f"{tag} {name}: failed: {message}")
        return Record(run, seed, run_dir, "failed", message=message)


def _read_back(study, run, seed, setting, loader, out) -> Record:
    run_dir = _run_dir(out, run, seed)
    state, payload = inspect_run(run_dir)
    if state not in ("finished", "diverged"):
        failed = read_json_dict(run_dir / FAILED_FILE).get("message")
        return Record(run, seed, run_dir, "failed", message=failed if isinstance(failed, str) else f"not finished ({state})")
    return _record(study, run, seed, setting, loader.bundle(seed), run_dir, payload, "")


def _record(study, run, seed, setting, bundle, run_dir, payload, trained) -> Record:
    """The record of a finished (or diverged) run, measured if the study measures and it is not yet."""
    from ..train import load_checkpoint

    diverged = read_diverged(run_dir)
    if diverged is not None:
        message = diverged["message"]
        return Record(run, seed, run_dir, "diverged", message=message, trained=trained)
    payload = payload or load_checkpoint(run_dir)
    record = Record(run, seed, run_dir, "finished", history=payload["history"], trained=trained)
    if study.measure is not None:
        record.measurements = _measure(study, run, seed, setting, bundle, run_dir)
    return record


def _measure(study, run, seed, setting, bundle, run_dir) -> dict:
    from ..train import model_from_checkpoint

    path = run_dir.parent.parent / "measurements" / f"{run_dir.name}.json"
    held = read_json_dict(path)  # {} when missing or corrupt: measured again
    if held:
        return held
    model, payload = model_from_checkpoint(run_dir)
    with engine_output(to_stderr):
        values = study.measure(Measurement(run, seed, run_dir, model, payload["model"], bundle, setting))
    write_json(path, values)
    return values


def _claim_out(out: Path, study: Study, setting: str, data: str) -> None:
    """Make OUT (or fail in one line) and check it holds this study, setting and dataset only."""
    claim_folder(out, STATE_FILE, {"study": study.name, "setting": setting, "data": data},
                 lambda h: f"the {h.get('setting')} {h.get('study')} study on {h.get('data')}")
