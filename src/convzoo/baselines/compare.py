"""`convzoo compare`: the lectures' MNIST error table re-measured on this machine, every row by the
method it names (compare_rows.py), on the same training and test images.

Classical rows are fitted here (table_methods.py), networks trained by the engine, committees
vote with their members' averaged outputs (compare_runs.py). Columns: method, distortion,
preprocessing, the published figure (with its source and its 60,000 training digits), the measured
test error (mean +- sd over seeds where a row has several), parameters (for a classical model the
numbers it stores), training time and inference time per 1,000 test images.

Each finished row is kept (OUT/rows/<row>.json, the run directories under OUT/runs), so an
interrupted comparison resumes with the rows it lacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import claim_folder, write_json
from ..errors import ConvzooError
from ..experiments.processes import to_stderr
from ..tables import Table, Tabular
from .compare_rows import MNIST_TRAIN, RECIPE_ROW, ROWS, Row
from .compare_table import distortion_sheet, result_table, write_outputs

# Quick (<= 3 minutes on 2 cores): the rows marked quick, on 5,000 training / 1,000 test images,
# every network 3 epochs and one seed, the committee 3 members.
QUICK = {"train_size": 5000, "test_size": 1000, "epochs": 3, "seeds": 1, "members": 3, "recipe": None}
# Full: the whole training set (mnist-sample: 9,000 digits), each row's own epochs, seeds and members.
FULL = {"train_size": None, "test_size": None, "epochs": None, "seeds": None, "members": None, "recipe": None}


@dataclass
class Comparison(Tabular):
    """The table as compare.md holds it; in a notebook `_repr_html_`, `to_markdown()` anywhere."""

    data: str
    quick: bool
    setting: str
    rows: list[dict]
    out: str
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def table(self) -> Table:
        return result_table(self)

    def to_dict(self) -> dict:
        return {"data": self.data, "quick": self.quick, "setting": self.setting, "rows": self.rows, "out": self.out,
                "files": self.files, "notes": self.notes}


def compare(data: str = "mnist-sample", *, data_dir=None, quick: bool = False, recipe: str | None = None,
            train_size: int | None = None, epochs: int | None = None, test_holdout=None, seed: int = 0,
            threads: int = 0, out=None, only: list[str] | None = None, log=None) -> Comparison:
    """Fit or train every row on `data` (or the rows named in `only`) and write the table and plot.
    `recipe` adds a row trained by that convzoo recipe; `epochs` sets every network's epochs."""
    from ..data import dataset_spec

    log = log or to_stderr
    setting = dict(QUICK if quick else FULL)
    if recipe is not None:
        from ..train.recipes import RECIPES

        if recipe not in RECIPES:
            from ..errors import unknown_name

            raise unknown_name("recipe", recipe, list(RECIPES))
        setting["recipe"] = recipe
    if train_size is not None:
        setting["train_size"] = train_size
    if epochs is not None:
        if epochs < 1:
            raise ConvzooError(f"--epochs must be at least 1, not {epochs}")
        setting["epochs"] = epochs
    spec = dataset_spec(data)
    if spec.task != "classification":
        raise ConvzooError(f"compare needs a grey 28x28 classification dataset; {data} is {spec.task}")
    table = ROWS + ([RECIPE_ROW] if setting["recipe"] else [])
    rows = [_row(k, table) for k in only] if only else [
        r for r in table if r.quick or not quick or r.key == RECIPE_ROW.key]  # --recipe's row in quick too
    out = Path(out) if out else Path("runs") / f"compare-{data}{'-quick' if quick else ''}"
    # A bad --out fails before the data loads.
    _claim(out, {"data": data, "quick": quick, "setting": setting, "seed": seed, "test_holdout": test_holdout})
    bundle = _load(data, data_dir, setting, test_holdout, seed)
    if tuple(bundle.train.shape) != (1, 28, 28):
        raise ConvzooError(f"compare needs 28x28 grey images (the lectures' table); {data} has "
                           f"{'x'.join(map(str, bundle.train.shape))}")
    family = "mnist" if data.startswith("mnist") else ""
    runtime = {**setting, "seeds": lambda row: setting["seeds"] or row.seeds}
    measured = [_measure(row, f"[{i}/{len(rows)}] {row.key}", bundle, runtime, out, threads, family, log)
                for i, row in enumerate(rows, 1)]
    where = (f"{data}: {len(bundle.train):,} training / {len(bundle.test):,} test images"
             f"{' (quick: 3 epochs, one seed, 3 committee members)' if quick else ''}")
    result = Comparison(data, quick, where, measured, str(out), notes=list(bundle.notes))
    result.files = write_outputs(result, out)
    firsts = [int((bundle.train.labels == c).nonzero()[0]) for c in range(6) if (bundle.train.labels == c).any()]
    distortion_sheet(bundle.train.images[firsts], out / "distortions.png", seed)
    result.files.append(str(out / "distortions.png"))
    return result


def _measure(row: Row, tag: str, bundle, setting: dict, out: Path, threads: int, family: str, log) -> dict:
    from .compare_runs import classical_row, committee_row, network_row

    path = out / "rows" / f"{row.key}.json"
    result = _read_row(path)  # None when missing or corrupt: the row is measured (again)
    if result is not None:
        log(f"{tag}: done, read back")
    else:
        try:
            if row.kind == "classical":
                log(f"{tag}: fitting")
                result = classical_row(row, bundle, threads)
            elif row.kind == "committee":
                result = committee_row(row, bundle, setting, out, threads, tag, log)
            else:
                result = network_row(_recipe_as_row(row, setting), bundle, setting, out, threads, tag, log)
            write_json(path, result)
        except ConvzooError as exc:  # kept out of rows/: the same command tries it again
            log(f"{tag}: failed: {exc}")
            result = {"error_percent": None, "error_sd": None, "runs": 0, "params": None, "train_seconds": None,
                      "infer_ms_per_1k": None, "note": f"failed: {exc}"}
    source, error = row.published.get(family, ("", None))
    members = len(row.members[:setting["members"]] if setting["members"] else row.members)
    return {"row": row.key, "method": row.label.format(n=members), "kind": row.kind, "distortion": row.distortion,
            "preprocessing": row.preprocessing, **result, "published": source or None,
            "published_error_percent": error, "published_train": MNIST_TRAIN if error is not None else None,
            "train": len(bundle.train), "test": len(bundle.test),
            # a row's reason names its own epochs and members: not when --quick or --epochs changed them
            "why": row.why if not (setting["epochs"] or setting["members"]) else ""}


ROW_NUMBERS = ("error_percent", "params", "train_seconds", "infer_ms_per_1k")


def _read_row(path: Path) -> dict | None:
    """A finished row as compare wrote it, or None (missing, or not of that shape: redo the row)."""
    from ..atomic import read_json_dict

    row = read_json_dict(path)
    numbers = all(isinstance(row.get(k), (int, float)) and not isinstance(row.get(k), bool) or row.get(k) is None
                  for k in ROW_NUMBERS)
    return row if row and numbers and isinstance(row.get("note", ""), (str, type(None))) else None


def _recipe_as_row(row: Row, setting: dict) -> Row:
    """A recipe row as a network row: the recipe's model and its training values (the row's own
    recipe, as LeNet-5's paper recipe, or the one `--recipe` names)."""
    if row.kind != "recipe":
        return row
    from dataclasses import replace

    from ..train.recipes import RECIPES

    recipe = RECIPES[row.name or setting["recipe"]]
    values = recipe.values()
    training = {k: v for k, v in values.items() if k not in ("model", "data", "data_dir", "seed", "threads",
                                                             "progress", "out")}
    label = row.label if row.name else f"convzoo recipe `{recipe.name}`"
    return replace(row, name=values["model"], training=training, label=label)


def _row(key: str, table: list[Row]) -> Row:
    for row in table:
        if row.key == key:
            return row
    from ..errors import unknown_name

    raise unknown_name("compare row", key, [r.key for r in table])


def _load(data, data_dir, setting, test_holdout, seed):
    from ..data import load_dataset
    from ..data.sampling import balanced_subset, with_train_size

    bundle = load_dataset(data, data_dir, test_holdout=test_holdout, seed=seed)
    wanted = setting["train_size"]  # quick's 5,000 on a smaller dataset: all of it
    bundle = with_train_size(bundle, wanted if wanted and wanted < len(bundle.train) else None, seed)
    size = setting["test_size"]
    if size and size < len(bundle.test):
        full = len(bundle.test)
        bundle.test = balanced_subset(bundle.test, size, 0)
        bundle.notes.append(f"test set: a class-balanced subset of {size:,} of the {full:,} test images (seed 0)")
    return bundle


def _claim(out: Path, state: dict) -> None:
    claim_folder(out, "compare-state.json", state, lambda h: "a comparison with other settings")
