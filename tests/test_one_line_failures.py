"""Failure is one line: scikit-learn's refusals of options or data, flags after `bench recipe ... --`
that bench sets itself, and the other cases of issue 34's list; none leaves a traceback."""

from __future__ import annotations

import pytest
from helpers import run_cli as run


@pytest.mark.parametrize("args,message", [
    (("knn", "--option", "k=0"), "(option k)"),
    (("knn", "--option", "k=100000"), "n_neighbors = 100000"),
    (("linear", "--option", "C=nan"), "Got nan"),
    (("linear", "--option", "C=-1"), "Got -1.0"),
    (("pca-quadratic", "--option", "components=784"), "n_components=784"),
    (("linear", "--train-size", "1"), "only one class"),
    (("cv", "knn", "--grid", "k=400,450"), "n_neighbors = 400"),
    (("cv", "linear", "--grid", "C=-1,1"), "Got -1.0"),
])
def test_scikit_learn_refusals_are_one_line(capsys, tmp_path, tiny_data_dir, args, message):
    size = [] if "--train-size" in args else ["--train-size", "300"]
    code, _, err = run(capsys, "baseline", *args, "--data", "fashion-mnist", "--data-dir", tiny_data_dir, *size,
                       *([] if args[0] == "cv" else ["--out", tmp_path / "b"]))
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("flags", [["--seed", "7"], ["--seed=7"], ["--see", "7"], ["--out", "x"], ["--json"],
                                   ["--threads", "1"], ["--resume", "r"]])
def test_bench_recipe_refuses_flags_it_sets_itself(capsys, monkeypatch, flags):
    from convzoo.bench import recipe_runs

    monkeypatch.setattr(recipe_runs.subprocess, "run", lambda *a, **k: pytest.fail("a run started"))
    code, _, err = run(capsys, "bench", "recipe", "fast", "--seeds", "0,1", "--", *flags)
    assert code == 1 and "is set by bench recipe itself" in err and len(err.strip().splitlines()) == 1
