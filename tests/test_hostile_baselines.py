"""A baseline folder from someone else is hostile data: every array of model.npz is checked (dtype,
shape, ranges, sizes against the header, a total cap) before scikit-learn sees it, so an index that
native code would follow out of bounds, a header asking for gigabytes, or inconsistent shapes are
one line (`convzoo eval` exits 1), never a segfault, an allocation or a traceback."""

from __future__ import annotations

import io
import json
import shutil
import zipfile

import numpy as np
import pytest
from helpers import run_cli as run

from convzoo.baselines import BadModelFile, fit_baseline, load_baseline

SMALL = {"stumps": {"n_estimators": 3, "learning_rate": 1.0}, "knn": {}, "svm-poly": {}, "linear": {"max_iter": 20}}


@pytest.fixture(scope="module")
def saved(tmp_path_factory, tiny_data_dir):
    root = tmp_path_factory.mktemp("hostile")
    return {name: fit_baseline(name, "fashion-mnist", data_dir=tiny_data_dir, train_size=120, options=options,
                               out=root / name).run_dir for name, options in SMALL.items()}


def _copy(saved, name, tmp_path):
    folder = tmp_path / name
    shutil.copytree(saved[name], folder)
    with np.load(folder / "model.npz") as npz:
        arrays = {k: npz[k].copy() for k in npz.files}
    return folder, arrays


def _state(folder):
    return json.loads((folder / "model.json").read_text())


def _refused(capsys, folder, pattern):
    with pytest.raises(BadModelFile, match=pattern):
        load_baseline(folder)
    code, _, err = run(capsys, "eval", folder)
    assert code == 1 and err.startswith("convzoo: error:") and len(err.strip().splitlines()) == 1


def _nodes(arrays):
    return [k for k, a in arrays.items() if a.dtype.names and "feature" in a.dtype.names]


@pytest.mark.parametrize("field,value,pattern", [("feature", 50_000_000, "feature outside"),
                                                 ("left_child", 10**9, "child is outside"),
                                                 ("right_child", 0, "child is outside")])
def test_tree_indices_that_native_code_would_follow_are_refused(saved, tmp_path, capsys, field, value, pattern):
    folder, arrays = _copy(saved, "stumps", tmp_path)
    key = _nodes(arrays)[0]
    arrays[key][field][0] = value  # the root: every prediction walks it
    np.savez(folder / "model.npz", **arrays)
    _refused(capsys, folder, pattern)


def test_a_header_declaring_gigabytes_is_refused_before_allocation(saved, tmp_path, capsys):
    folder, arrays = _copy(saved, "linear", tmp_path)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (500_000_000,)})
    with zipfile.ZipFile(folder / "model.npz", "w", zipfile.ZIP_DEFLATED) as z:
        for k, a in arrays.items():
            if k == "a0":
                continue
            buf = io.BytesIO()
            np.save(buf, a)
            z.writestr(f"{k}.npy", buf.getvalue())
        z.writestr("a0.npy", header.getvalue() + b"\0" * 64)  # 3.7 GiB declared, 64 bytes stored
    _refused(capsys, folder, "declares 4,000,000,000 bytes")


def test_svm_class_counts_that_disagree_with_its_vectors(saved, tmp_path, capsys):
    folder, arrays = _copy(saved, "svm-poly", tmp_path)
    key = next(k for k, a in arrays.items() if a.dtype == np.int32 and a.ndim == 1 and len(a) == 10)  # _n_support
    arrays[key][0] += 1000
    np.savez(folder / "model.npz", **arrays)
    _refused(capsys, folder, "disagree")


def test_a_feature_count_other_than_the_data_is_one_line(saved, tmp_path, capsys):
    folder, arrays = _copy(saved, "linear", tmp_path)
    np.savez(folder / "model.npz", **{k: (v[:, :5] if v.ndim == 2 else v) for k, v in arrays.items()})
    _refused(capsys, folder, "cannot predict on 784 features")


def test_an_svm_with_float32_vectors_is_refused(saved, tmp_path, capsys):
    folder, arrays = _copy(saved, "svm-poly", tmp_path)
    np.savez(folder / "model.npz", **{k: v.astype(np.float32) if v.dtype == np.float64 else v for k, v in arrays.items()})
    _refused(capsys, folder, "disagree")


def test_n_neighbors_above_the_training_set_is_refused(saved, tmp_path, capsys):
    folder, _ = _copy(saved, "knn", tmp_path)
    state = _state(folder)
    state["model"]["params"]["__dict__"]["n_neighbors"] = 100_000
    (folder / "model.json").write_text(json.dumps(state))
    _refused(capsys, folder, "n_neighbors=100000")


def test_a_deeply_nested_model_json_is_one_line(saved, tmp_path, capsys):
    folder, _ = _copy(saved, "knn", tmp_path)
    (folder / "model.json").write_text('{"format": "convzoo-baseline-model/1", "model": ' + "[" * 100_000 + "]" * 100_000 + "}")
    _refused(capsys, folder, "not readable JSON")


def test_classes_beyond_those_baseline_json_names(saved, tmp_path, capsys):
    folder, _ = _copy(saved, "knn", tmp_path)
    meta = json.loads((folder / "baseline.json").read_text())
    meta["data"]["classes"] = meta["data"]["classes"][:3]
    (folder / "baseline.json").write_text(json.dumps(meta))
    _refused(capsys, folder, "does not name")
