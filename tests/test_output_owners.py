"""Output folders have one owner: each job's marker file (atomic.OWNERS) says which kind of job a
folder holds, and every other kind refuses it in one line before any data loads; export replaces
only files an export wrote, unless --force."""

from __future__ import annotations

import json

import pytest
from helpers import run_cli as run

from convzoo.atomic import OWNERS, check_owner, claim_folder
from convzoo.errors import ConvzooError


@pytest.mark.parametrize("held", list(OWNERS))
@pytest.mark.parametrize("mine", list(OWNERS))
def test_each_kind_refuses_every_other_kinds_folder(tmp_path, held, mine):
    (tmp_path / held).write_text("{}")
    (tmp_path / "results.json").write_text('{"mine": "no"}')
    if held == mine:
        check_owner(tmp_path, mine)
    else:
        with pytest.raises(ConvzooError, match=f"holds {OWNERS[held]}'s outputs"):
            claim_folder(tmp_path, mine, {"x": 1})
    assert json.loads((tmp_path / "results.json").read_text()) == {"mine": "no"}


def test_outputs_without_a_marker_are_someone_elses(tmp_path):
    (tmp_path / "eval.json").write_text("{}")
    with pytest.raises(ConvzooError, match="holds eval.json, which this job did not write"):
        claim_folder(tmp_path, "search.json", {"x": 1})
    assert not (tmp_path / "search.json").exists()


@pytest.fixture
def folders(tmp_path):
    run_dir, base, study = tmp_path / "run", tmp_path / "base", tmp_path / "study"
    for folder, marker in ((run_dir, "config.json"), (base, "baseline.json"), (study, "study.json")):
        folder.mkdir()
        (folder / marker).write_text(json.dumps({"format": "convzoo-baseline/1", "baseline": "knn"}))
        (folder / "eval.json").write_text('{"accuracy": 0.5}')
    return run_dir, base, study


def test_baseline_and_train_refuse_each_others_folders(folders, capsys, tiny_data_dir):
    run_dir, base, study = folders
    for args in (("baseline", "knn", "--data", "fashion-mnist", "--data-dir", tiny_data_dir, "--out", run_dir),
                 ("baseline", "linear", "--data", "fashion-mnist", "--data-dir", tiny_data_dir, "--out", base),
                 ("train", "lenet", "--data", "fashion-mnist", "--data-dir", tiny_data_dir, "--out", base),
                 ("train", "lenet", "--data", "fashion-mnist", "--data-dir", tiny_data_dir, "--out", study)):
        code, _, err = run(capsys, *args)
        assert code == 1 and "--out" in err and len(err.strip().splitlines()) == 1, args
    for folder in folders:
        assert json.loads((folder / "eval.json").read_text()) == {"accuracy": 0.5}


def test_export_replaces_only_its_own_files(tmp_path, capsys):
    photo = tmp_path / "x.png"
    photo.write_bytes(b"\x89PNG not mine")
    study = tmp_path / "study"
    study.mkdir()
    (study / "results.json").write_text('{"study": "kernel"}')
    for target in (photo, study / "results.safetensors"):
        code, _, err = run(capsys, "export", "digits", "--format", "safetensors", "-o", target)
        assert code == 1 and "did not write it" in err and len(err.strip().splitlines()) == 1
    assert photo.read_bytes() == b"\x89PNG not mine" and (study / "results.json").read_text() == '{"study": "kernel"}'
    ours = tmp_path / "w.safetensors"
    for _ in range(2):  # an export's own files are replaced without --force
        assert run(capsys, "export", "digits", "--format", "safetensors", "-o", ours)[0] == 0
    assert run(capsys, "export", "digits", "--format", "checkpoint", "-o", tmp_path / "w.pt")[0] == 0
    assert run(capsys, "export", "digits", "--format", "safetensors", "-o", photo, "--force")[0] == 0
    assert photo.read_bytes() != b"\x89PNG not mine"
