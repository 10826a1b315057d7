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


def test_a_frozen_rank_is_one_line_naming_ranks_and_timeout(monkeypatch):
    """What gloo raises on the rank that waited (measured: SIGSTOP of rank 1 under torchrun, --dist-timeout 8)."""
    from convzoo.train import distributed

    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    gloo = RuntimeError("[../third_party/gloo/gloo/transport/tcp/unbound_buffer.cc:81] Timed out waiting 8000ms "
                        "for recv operation to complete\nException raised from ...")
    failure = distributed.peer_failure(gloo, 8.0)
    assert str(failure).startswith("rank 0 of 2: no answer from rank 1 within --dist-timeout 8 s")
    assert "\n" not in str(failure)
    assert distributed.peer_failure(RuntimeError("shape mismatch"), 8.0) is None  # a bug stays a traceback


def test_library_warnings_before_an_error_are_dropped_and_kept_after_success(capsys, monkeypatch):
    import warnings

    from convzoo import cli
    from convzoo.errors import ConvzooError

    def command(fail: bool):
        def run_it(args):
            warnings.warn("torch internals note", UserWarning, stacklevel=1)
            if fail:
                raise ConvzooError("the one line")
            return 0
        return run_it

    build = cli.build_parser
    for fail in (True, False):
        def patched(fail=fail):
            parser = build()
            cli._command_parser(parser, ["models"]).set_defaults(func=command(fail))
            return parser
        monkeypatch.setattr(cli, "build_parser", patched)
        code, _, err = run(capsys, "models")
        if fail:
            assert code == 1 and err.strip() == "convzoo: error: the one line"
        else:
            assert code == 0 and "torch internals note" in err
