"""Classical baselines (convzoo.baselines): every model fits and beats chance, the pickle-free saved
format round-trips and refuses foreign content, deskewing, eval.json's format, `convzoo eval` /
`predict` on a baseline directory, cross-validation that never sees the test set, bad input."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli as run

from convzoo.baselines import (
    BASELINES,
    BadModelFile,
    cross_validate,
    deskew,
    extract,
    fit_baseline,
    hog,
    load_baseline,
    load_model,
    save_model,
    skew,
)

SMALL = {"stumps": {"n_estimators": 30, "learning_rate": 1.0}, "linear": {"max_iter": 50}, "pca-quadratic": {"components": 20, "reg_param": 0.1}}


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, tiny_data_dir):
    """Every baseline fitted on 300 synthetic training images and saved."""
    root = tmp_path_factory.mktemp("baselines")
    return {name: fit_baseline(name, "fashion-mnist", data_dir=tiny_data_dir, train_size=300,
                               options=SMALL.get(name), out=root / name) for name in BASELINES}


@pytest.mark.parametrize("name", list(BASELINES))
def test_each_baseline_beats_chance_and_round_trips(fitted, tiny_data_dir, name):
    result = fitted[name]
    assert result.train == 300 and result.test == 200
    assert result.evaluation.accuracy > 0.5  # chance is 0.1
    saved = load_baseline(result.run_dir)
    from convzoo.data import load_dataset

    test = load_dataset("fashion-mnist", tiny_data_dir).test
    x = extract(test.images.numpy(), "raw")
    original = result.evaluation.confusion.numpy().trace()
    predicted = saved.estimator.predict(x)
    assert (predicted == test.labels.numpy()).sum() == original  # the reloaded model scores the same


@pytest.mark.slow
def test_loaded_model_predicts_the_same_labels(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 12))
    y = (x[:, 0] > 0).astype(int) + 2 * (x[:, 1] > 0)
    for name, baseline in BASELINES.items():
        options = dict(baseline.options, **SMALL.get(name, {}))
        if name == "pca-quadratic":
            options.update(components=5, reg_param=0.1)
        model = baseline.factory(options).fit(x, y)
        save_model(model, tmp_path / name)
        again = load_model(tmp_path / name)
        assert type(again) is type(model)
        np.testing.assert_array_equal(again.predict(x), model.predict(x))


def test_saved_files_hold_no_pickle(fitted):
    run_dir = fitted["stumps"].run_dir
    with np.load(f"{run_dir}/model.npz", allow_pickle=False) as npz:
        assert all(not npz[k].dtype.hasobject for k in npz.files)
    with zipfile.ZipFile(f"{run_dir}/model.npz") as z:
        for name in z.namelist():
            assert b"\x80\x04\x95" not in z.read(name)[:200] or name.endswith(".npy")


def test_loader_refuses_object_arrays_and_unknown_types(fitted, tmp_path):
    import shutil

    bad = tmp_path / "objects"
    shutil.copytree(fitted["linear"].run_dir, bad)
    np.savez(bad / "model.npz", a0=np.array([{"x": 1}], dtype=object))  # pickled objects inside
    with pytest.raises(BadModelFile, match="refused"):
        load_model(bad)

    foreign = tmp_path / "foreign"
    shutil.copytree(fitted["linear"].run_dir, foreign)
    meta = json.loads((foreign / "model.json").read_text())
    meta["model"]["__estimator__"] = "os.system"
    (foreign / "model.json").write_text(json.dumps(meta))
    with pytest.raises(BadModelFile, match="does not load"):
        load_model(foreign)

    (foreign / "model.npz").write_bytes(b"not a zip")
    meta["model"]["__estimator__"] = "sklearn.linear_model._logistic.LogisticRegression"
    (foreign / "model.json").write_text(json.dumps(meta))
    with pytest.raises(BadModelFile, match="corrupt"):
        load_model(foreign)


def test_deskew_straightens_a_slanted_bar():
    img = np.zeros((28, 28), np.uint8)
    for r in range(4, 24):
        img[r, 6 + r // 2:9 + r // 2] = 255
    assert skew(img) > 0.4
    straight = deskew(img[None])[0]
    assert abs(skew(straight)) < 0.02
    assert straight.sum() == pytest.approx(img.sum(), rel=0.05)  # ink is moved, not lost


def test_hog_shape_and_normalisation():
    rng = np.random.default_rng(1)
    features = hog(rng.integers(0, 255, (3, 28, 28)).astype(np.uint8))
    assert features.shape == (3, 324)
    blocks = features.reshape(3, 9, 36)
    np.testing.assert_allclose(np.linalg.norm(blocks, axis=2), 1.0, atol=1e-4)
    assert extract(np.zeros((2, 1, 28, 28), np.uint8), "deskew").shape == (2, 784)


def test_eval_json_has_convzoo_evals_keys(fitted, tiny_run, capsys):
    code, out, _ = run(capsys, "eval", tiny_run, "--json")
    assert code == 0
    cnn = json.loads(out)
    written = json.loads((Path(fitted["knn"].run_dir) / "eval.json").read_text())
    assert set(written) == set(cnn)
    code, out, _ = run(capsys, "eval", fitted["knn"].run_dir, "--json")
    assert code == 0
    assert json.loads(out) == written
    assert set(written["per_class_accuracy"]) == set(cnn["per_class_accuracy"])


@pytest.mark.slow
def test_cli_eval_and_predict_on_a_baseline_dir(fitted, capsys, tmp_path, tiny_data_dir):
    from PIL import Image

    from convzoo.data import load_dataset

    run_dir = fitted["svm-rbf"].run_dir
    code, out, _ = run(capsys, "eval", run_dir)
    assert code == 0 and "accuracy" in out and "confusion matrix" in out
    test = load_dataset("fashion-mnist", tiny_data_dir).test
    picture = tmp_path / "garment.png"
    Image.fromarray(test.images[0, 0].numpy()).save(picture)
    for name in ("svm-rbf", "linear"):
        code, out, err = run(capsys, "predict", fitted[name].run_dir, picture, "--json")
        assert code == 0, err
        answers = json.loads(out)
        assert answers[0]["top"][0]["class"] in test.classes
    code, out, err = run(capsys, "predict", run_dir, picture, tmp_path / "missing.png")
    assert code == 1 and "missing.png" in err and str(picture) in out


@pytest.mark.slow
def test_cli_baseline_writes_a_run_directory(capsys, tmp_path, tiny_data_dir):
    out_dir = tmp_path / "run"
    code, out, err = run(capsys, "baseline", "linear", "--data", "fashion-mnist", "--data-dir", tiny_data_dir,
                         "--train-size", "200", "--features", "hog", "--option", "max_iter=50", "--out", out_dir,
                         "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["features"] == "hog" and result["train"] == 200
    assert {p.name for p in out_dir.iterdir()} == {"baseline.json", "model.json", "model.npz", "eval.json"}


@pytest.mark.slow  # fits every fold
def test_cross_validation_never_sees_the_test_set(monkeypatch, tiny_data_dir):
    from sklearn.model_selection import GridSearchCV

    from convzoo.data import load_dataset

    seen = []
    original = GridSearchCV.fit

    def spy(self, x, y=None, **kw):
        seen.append(x.copy())
        return original(self, x, y, **kw)

    monkeypatch.setattr(GridSearchCV, "fit", spy)
    result = cross_validate("knn", "fashion-mnist", ["k=1,3"], folds=3, data_dir=tiny_data_dir, train_size=300)
    bundle = load_dataset("fashion-mnist", tiny_data_dir)
    test_rows = {row.tobytes() for row in extract(bundle.test.images.numpy(), "raw")}
    assert len(seen) == 1 and len(seen[0]) == 300
    assert not any(row.tobytes() in test_rows for row in seen[0])
    assert len(result.cells) == 2 and result.best in result.cells
    for cell in result.cells:
        assert cell["mean"] == pytest.approx(np.mean(cell["folds"])) and cell["sd"] == pytest.approx(np.std(cell["folds"]))
    assert result.test == 200 and 0 <= result.test_accuracy <= 1


def test_cli_cv_prints_mean_and_sd(capsys, tiny_data_dir):
    code, out, err = run(capsys, "baseline", "cv", "knn", "--data", "fashion-mnist", "--data-dir", tiny_data_dir,
                         "--train-size", "200", "--grid", "k=1,5", "--folds", "2")
    assert code == 0, err
    assert out.count("±") == 2 and "chosen" in out and "test accuracy" in out


@pytest.mark.parametrize("args, message", [
    (["baseline", "knnn"], "unknown baseline 'knnn'; did you mean knn?"),
    (["baseline", "knn", "--option", "kk=3"], "knn has no option 'kk' (did you mean k?)"),
    (["baseline", "knn", "--option", "k"], "--option takes KEY=VALUE"),
    (["baseline", "knn", "--option", "k=three"], "option k takes a whole number"),
    (["baseline", "cv", "knn", "--grid", "k="], "--grid takes KEY=V1,V2,..."),
    (["baseline", "cv", "knn"], "--grid is empty"),
    (["baseline", "cv", "knn", "--grid", "depth=1,2"], "knn has no option 'depth'"),
    (["baseline", "cv", "knn", "--grid", "k=1,x"], "option k takes a whole number"),
    (["baseline", "cv", "knn", "--grid", "k=1", "--folds", "1"], "--folds must be at least 2"),
    (["baseline", "cv"], "baseline cv needs a baseline"),
    (["baseline", "knn", "--features", "sift"], "invalid choice"),
])
def test_bad_input_is_one_line(capsys, args, message):
    code, _, err = run(capsys, *args)
    assert code != 0
    assert message in err and len(err.strip().splitlines()) == 1


def test_folds_above_the_smallest_class_count(capsys, tiny_data_dir):
    code, _, err = run(capsys, "baseline", "cv", "knn", "--data", "fashion-mnist", "--data-dir", tiny_data_dir,
                       "--train-size", "30", "--grid", "k=1", "--folds", "5")
    assert code == 1 and "--folds must be between 2 and the smallest class's 3" in err


def test_too_few_examples_for_the_quadratic_classifier(capsys, tiny_data_dir, tmp_path):
    code, _, err = run(capsys, "baseline", "pca-quadratic", "--data", "fashion-mnist", "--data-dir", tiny_data_dir,
                       "--train-size", "100", "--out", tmp_path / "q")
    assert code == 1 and "cannot be fitted on these 100 examples" in err and len(err.strip().splitlines()) == 1


def test_eval_refuses_a_corrupt_baseline(fitted, capsys, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(fitted["knn"].run_dir, bad)
    (bad / "model.json").write_text("{not json")
    code, _, err = run(capsys, "eval", bad)
    assert code == 1 and "not readable JSON" in err and len(err.strip().splitlines()) == 1


def test_the_nystroem_svm_is_chosen_above_the_limit_saved_and_said(monkeypatch, tiny_data_dir, tmp_path, capsys):
    from convzoo.baselines import table

    monkeypatch.setattr(table, "EXACT_SVM_LIMIT", 250)
    result = fit_baseline("svm-rbf", "fashion-mnist", data_dir=tiny_data_dir, train_size=300,
                          options={"components": 100}, out=tmp_path / "svm")
    assert result.options["approx"] == "nystroem" and isinstance(result.options["gamma"], float)
    assert any("Nystroem features from 100" in n for n in result.notes)
    assert result.evaluation.accuracy > 0.5
    saved = load_baseline(tmp_path / "svm")
    assert type(saved.estimator).__name__ == "Pipeline"  # Nystroem + LinearSVC, loaded without pickle
    exact = fit_baseline("svm-rbf", "fashion-mnist", data_dir=tiny_data_dir, train_size=200)
    assert exact.options["approx"] == "exact" and exact.options["gamma"] == "scale"


@pytest.mark.parametrize("args, message", [
    (["compare", "--rows", "mlp,svm"], "unknown compare row 'svm'"),
    (["compare", "--rows", ","], "--rows is empty"),
    (["compare", "--recipe", "fastest"], "unknown recipe 'fastest'"),
    (["compare", "--data", "digit-scenes"], "needs a grey 28x28 classification dataset"),
    (["compare", "--data", "fashion"], "unknown dataset"),
])
def test_compare_bad_input_is_one_line(capsys, args, message):
    code, _, err = run(capsys, *args)
    assert code != 0
    assert message in err and len(err.strip().splitlines()) == 1
