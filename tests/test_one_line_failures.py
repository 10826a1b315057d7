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


DISK_FULL = """
import resource, signal, sys, torch
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))  # writes beyond 100 KB fail, as on a full disk
from convzoo.atomic import atomic_path
from convzoo.errors import ConvzooError
from safetensors.torch import save_file
for name, save in (("a.pt", lambda t: torch.save({"w": torch.randn(100_000)}, t)),
                   ("b.safetensors", lambda t: save_file({"w": torch.randn(100_000)}, str(t)))):
    try:
        with atomic_path(sys.argv[1] + "/" + name) as tmp:
            save(tmp)
    except ConvzooError as exc:
        print(exc)
"""


@pytest.mark.slow  # a fresh interpreter importing torch: ~4 s
def test_a_full_disk_under_torch_and_safetensors_is_a_write_error(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", DISK_FULL, str(tmp_path)], capture_output=True, text=True, env=env,
                          check=False,
                          timeout=120)
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert [line.split(" (")[0] for line in lines] == [f"cannot write {tmp_path}/a.pt", f"cannot write {tmp_path}/b.safetensors"]
    assert list(tmp_path.iterdir()) == []  # no partial file, no temporary


def test_a_run_failing_the_same_way_twice_says_so(tmp_path):
    from convzoo.experiments.failures import FAILED_FILE, forget_failure, remember_failure

    assert remember_failure(tmp_path, "cannot write x (No space left on device)") == \
        "cannot write x (No space left on device)"
    again = remember_failure(tmp_path, "cannot write x (No space left on device)")
    assert again.startswith("cannot write x (No space left on device)") and "same failure" in again
    assert "same failure" not in remember_failure(tmp_path, "another reason")
    forget_failure(tmp_path)
    assert not (tmp_path / FAILED_FILE).exists()


@pytest.mark.parametrize("text", ["{broken", "[1, 2]", '{"message": 5}', '{"message": "x", "chance": 7}'])
def test_a_corrupt_diverged_file_means_redo_the_run(tmp_path, text):
    from convzoo.experiments.runs import DIVERGED_FILE, inspect_run

    (tmp_path / DIVERGED_FILE).write_text(text)
    assert inspect_run(tmp_path) == ("missing", None)
    (tmp_path / DIVERGED_FILE).write_text('{"message": "training diverged", "chance": 0.1}')
    assert inspect_run(tmp_path)[0] == "diverged"


@pytest.mark.parametrize("text", ["{broken", "[]", '{"error_percent": "x"}', '{"error_percent": 1, "note": 5}'])
def test_a_corrupt_compare_row_is_measured_again(tmp_path, text):
    from convzoo.baselines.compare import _read_row

    (tmp_path / "row.json").write_text(text)
    assert _read_row(tmp_path / "row.json") is None
    good = {"error_percent": 1.5, "params": 100, "train_seconds": None, "infer_ms_per_1k": 2.0, "note": ""}
    (tmp_path / "row.json").write_text(__import__("json").dumps(good))
    assert _read_row(tmp_path / "row.json") == good


def test_zoo_cards_that_are_broken_or_name_the_wrong_classes(tmp_path, monkeypatch, capsys):
    import json
    import shutil

    from convzoo.zoo import store

    folder = tmp_path / "zoo"
    shutil.copytree(store.WEIGHTS_DIR, folder, ignore=shutil.ignore_patterns("*.md"))
    monkeypatch.setenv("CONVZOO_ZOO_DIR", str(folder))
    card = json.loads((folder / "lenet.json").read_text())
    card["data"]["classes"] = card["data"]["classes"][:3]
    (folder / "lenet.json").write_text(json.dumps(card))
    (folder / "mlp.json").write_text('{"format": "convzoo-safetensors-config", "data": 5}')
    for name, message in (("lenet", "names 3 classes for a model of 10 outputs"), ("mlp", "not a model card")):
        code, _, err = run(capsys, "eval", f"zoo:{name}")
        assert code == 1 and message in err and len(err.strip().splitlines()) == 1
    assert "mlp" not in [m["name"] for m in store.shipped_models()]  # the demo skips a broken card


def test_style_on_a_picture_too_small_for_the_features(capsys, tmp_path):
    import numpy as np
    from PIL import Image

    picture = tmp_path / "p.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(picture)
    code, _, err = run(capsys, "style", picture, picture, "-o", tmp_path / "o.png", "--size", "16", "--steps", "1",
                       "--features", "convzoo:zoo:lenet-1998")
    assert code == 1 and "too small for the convolutions" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.png").exists()


@pytest.mark.slow  # trains a quick study's runs
def test_a_study_on_an_imagefolder_writes_its_outputs(tmp_path, capsys):
    import json

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, count in (("train", 12), ("test", 4)):
        for label in ("a", "b"):
            (tmp_path / "images" / split / label).mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 80, (28, 28), dtype=np.uint8)
                pixels[5:20, 10:14] = 250 if label == "a" else 0
                Image.fromarray(pixels).save(tmp_path / "images" / split / label / f"{i}.png")
    code, _, err = run(capsys, "study", "run", "kernel", "--quick", "--seeds", "1", "--data", "imagefolder", "--data-dir",
                       tmp_path / "images", "--out", tmp_path / "s", "--threads", "1")
    assert code == 0, err
    records = json.loads((tmp_path / "s" / "results.json").read_text())["records"]
    assert records and all(r["status"] == "finished" for r in records)
