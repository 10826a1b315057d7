"""The zoo: rows and recipes agree, a row publishes (weights, cards, log) and loads as zoo:NAME
everywhere a checkpoint is accepted, large weights download verified, and every shipped checkpoint
still gives its card's accuracy (the regression guard)."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch
from helpers import local_file_server, run_cli

from convzoo.errors import ConvzooError, DataError
from convzoo.train.recipes import RECIPES
from convzoo.zoo import ROWS, shipped_models, store
from convzoo.zoo.cards import SLICE
from convzoo.zoo.publish import export_row, seed_done, train_seed
from convzoo.zoo.table import zoo_table

FAMILIES = {"lenet", "lenet-1998", "lenet-bn", "mlp", "alexnet", "vgg-a", "vgg-d", "nin", "googlenet", "resnet18",
            "resnet20", "resnet56", "resnext", "se-resnet", "wide-resnet", "densenet-bc", "shufflenet-v1",
            "shufflenet-v2", "fastnet"}


@pytest.fixture
def zoo_dir(tmp_path, monkeypatch):
    """An empty zoo folder in place of the package's (cards, small weights, manifest), and a cache
    of this test's own."""
    folder = tmp_path / "zoo"
    folder.mkdir()
    monkeypatch.setenv("CONVZOO_ZOO_DIR", str(folder))
    monkeypatch.setenv("CONVZOO_DATA", str(tmp_path / "cache"))
    return folder


def test_every_family_of_the_issue_has_a_row_and_every_row_a_zoo_recipe():
    assert set(ROWS) == FAMILIES
    assert {f"zoo-{name}" for name in ROWS} == {name for name in RECIPES if name.startswith("zoo-")}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_each_recipe_is_a_valid_config_whose_final_epoch_eval_reproduces(name):
    config = RECIPES[f"zoo-{name}"].config()
    assert config.model == ROWS[name].model and config.data == "fashion-mnist"
    assert config.tta is False and config.ema == 0 and config.precision == "fp32"
    assert all(isinstance(why, str) and why for _, why in RECIPES[f"zoo-{name}"].settings.values())


@pytest.mark.slow
@pytest.mark.slow  # GoogLeNet's training steps at batch 128
def test_estimate_runs_the_recipe_and_budgets_its_epochs(tiny_data_dir):
    from convzoo.zoo.estimate import estimate_row

    # The recipe's own model (aux heads: the engine trains all three) at its quarter width.
    estimate = estimate_row("googlenet", threads=1, steps=2, test_images=100, data_dir=tiny_data_dir)
    recipe = RECIPES["zoo-googlenet"].values()
    # Training images per epoch are the data's own: the tiny set's 600 (Fashion-MNIST's 60,000 in use).
    assert (estimate.model, estimate.epochs, estimate.images) == ("googlenet", recipe["epochs"], 600)
    assert estimate.setup.startswith("fp32")  # the recipe fixes fp32
    assert estimate.train_per_sec > 0 and estimate.eval_per_sec > 0
    # At least the training passes over the data: a minute-count below that would be no budget at all.
    assert estimate.minutes * 60 > recipe["epochs"] * 600 / estimate.train_per_sec
    assert 50e6 < estimate.macs < 100e6  # ~75 M at a quarter width, against 1.19 G at full width


@pytest.mark.slow  # two short training runs
def test_estimate_cli_prints_json_for_the_rows_asked(capsys, tiny_data_dir):
    code, out, _ = run_cli(capsys, "zoo", "estimate", "mlp", "lenet", "--json", "--data-dir", tiny_data_dir)
    result = json.loads(out)
    assert code == 0 and [r["row"] for r in result["rows"]] == ["mlp", "lenet"] and result["machine"]["threads"] >= 1
    code, _, err = run_cli(capsys, "zoo", "--threads", "2")
    assert code == 1 and "--threads goes with --train ROW or --estimate" in err


@pytest.mark.slow  # counts every row's MACs
def test_untrained_rows_say_so_and_fill_in_no_result(zoo_dir, capsys):
    rows = {r["name"]: r for r in zoo_table()}
    assert set(rows) == FAMILIES
    for r in rows.values():
        assert r["status"] == "not trained yet" and r["accuracy"] is None and r["train_minutes"] is None
        assert r["parameters"] > 0 and r["macs"] > 0
    assert rows["resnet20"]["parameters"] == 269_434  # the CIFAR ResNet-20 on one grey channel
    code, out, _ = run_cli(capsys, "zoo")
    assert code == 0 and out.count("not trained yet") == len(FAMILIES) and "±" not in out


@pytest.fixture(scope="module")
def lenet_runs(tmp_path_factory, tiny_data_dir):
    """Two seeds of the zoo-lenet recipe, finished, on the tiny dataset (the recipe's every setting)."""
    from convzoo.train import Trainer

    runs = tmp_path_factory.mktemp("zoo-runs")
    with pytest.MonkeyPatch.context() as patch:
        # The curves drawn after each of the 20 epochs are not what these tests look at (4 s each under load).
        patch.setattr("convzoo.train.rundir.plot_curves", lambda *args, **kwargs: None)
        for seed in (0, 1):
            out = runs / "lenet" / f"seed{seed}"
            # Settings the recipe leaves open keep it quick: 256 images (its layout is fixed: nothing timed).
            Trainer(RECIPES["zoo-lenet"].config(seed=seed, data_dir=str(tiny_data_dir), threads=1, out=str(out),
                                                train_size=256, progress=False)).fit()
    return runs


def test_a_finished_seed_is_not_retrained_and_a_foreign_run_is_refused(lenet_runs, tiny_run, tmp_path, monkeypatch):
    from convzoo.train import Trainer

    row = ROWS["lenet"]
    assert seed_done(row, lenet_runs / "lenet" / "seed0") is True
    assert seed_done(row, tmp_path / "nothing") is None

    def refuse(*_args, **_kwargs):
        raise AssertionError("a finished seed was trained again")

    monkeypatch.setattr(Trainer, "fit", refuse)
    assert train_seed(row, 1, lenet_runs) == lenet_runs / "lenet" / "seed1"
    with pytest.raises(ConvzooError, match="move it away"):
        seed_done(row, tiny_run)  # lenet_modern, not the recipe's lenet


def test_publish_writes_weights_cards_and_log_and_loads_as_zoo_name(lenet_runs, tiny_data_dir, zoo_dir, capsys):
    card = export_row(ROWS["lenet"], [lenet_runs / "lenet" / f"seed{s}" for s in (0, 1)], zoo_dir,
                      data_dir=tiny_data_dir)["card"]
    finals = [json.loads((lenet_runs / "lenet" / f"seed{s}" / "metrics.jsonl").read_text().splitlines()[-1])["test_acc"]
              for s in (0, 1)]
    assert [r["test_accuracy"] for r in card["seeds"]] == finals
    assert card["accuracy"]["mean"] == pytest.approx(sum(finals) / 2) and card["accuracy"]["seeds"] == 2
    weights = zoo_dir / "lenet.safetensors"
    assert card["weights"]["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest() and card["weights"]["shipped"]
    assert (zoo_dir / "lenet.metrics.jsonl").read_text() == (lenet_runs / "lenet/seed0/metrics.jsonl").read_text()
    assert "zoo:lenet" in (zoo_dir / "lenet.md").read_text()
    assert store.zoo_weights("lenet") == weights and [m["name"] for m in shipped_models()] == ["lenet"]

    code, out, _ = run_cli(capsys, "eval", "zoo:lenet", "--data-dir", tiny_data_dir, "--json")
    assert code == 0 and json.loads(out)["accuracy"] == pytest.approx(card["shipped_test_accuracy"], abs=1e-6)
    code, out, _ = run_cli(capsys, "zoo", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["lenet"]["accuracy"]["mean"] == card["accuracy"]["mean"] and rows["lenet"]["weights"] == "shipped"
    assert rows["mlp"]["status"] == "not trained yet"
    code, out, _ = run_cli(capsys, "zoo")
    assert code == 0 and "± " in out.splitlines()[1] and "not trained yet" in out


@pytest.mark.slow
def test_report_of_a_zoo_model_shows_its_card(lenet_runs, tiny_data_dir, zoo_dir, tmp_path, capsys, monkeypatch):
    export_row(ROWS["lenet"], [lenet_runs / "lenet" / "seed0"], zoo_dir, data_dir=tiny_data_dir)
    card = json.loads((zoo_dir / "lenet.json").read_text())
    card["config"]["data_dir"] = str(tiny_data_dir)  # the report evaluates on the tiny test set
    (zoo_dir / "lenet.json").write_text(json.dumps(card))
    code, _, _ = run_cli(capsys, "report", "zoo:lenet", "-o", tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert code == 0 and "Model card" in page and card["card"]["weights"]["sha256"] in page
    assert "Most confident mistakes" in page and "data:image/png;base64," in page


def test_missing_zoo_models_are_one_line_each(zoo_dir, capsys):
    code, _, err = run_cli(capsys, "eval", "zoo:nope")
    assert code == 1 and "known: lenet, lenet-1998" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(capsys, "predict", "zoo:alexnet", "x.png")
    assert code == 1 and "convzoo zoo train alexnet" in err
    (zoo_dir / "manifest.json").write_text(json.dumps(
        {"base_url": None, "models": {"googlenet": {"file": "googlenet.safetensors", "size": 41_000_000,
                                                    "sha256": "0" * 64}}}))
    code, _, err = run_cli(capsys, "eval", "zoo:googlenet")
    assert code == 1 and "`convzoo zoo fetch googlenet`" in err and len(err.strip().splitlines()) == 1


@pytest.fixture
def server():
    with local_file_server() as served:
        yield served


def _manifest(folder, sha256: str, size: int):
    (folder / "manifest.json").write_text(json.dumps(
        {"base_url": None, "models": {"resnet56": {"file": "resnet56.safetensors", "size": size, "sha256": sha256}}}))
    (folder / "resnet56.json").write_text(json.dumps({"format": "convzoo-safetensors-config"}))


def test_fetch_downloads_verified_into_the_cache(server, zoo_dir, monkeypatch, capsys):
    url, routes = server
    body = b"resnet56 weights" * 1000
    routes["/zoo/resnet56.safetensors"] = body
    _manifest(zoo_dir, hashlib.sha256(body).hexdigest(), len(body))
    monkeypatch.setenv(store.URL_ENV, f"{url}/zoo")
    code, out, _ = run_cli(capsys, "zoo", "fetch", "resnet56", "--json")
    path = store.cache_dir() / "resnet56.safetensors"
    assert code == 0 and json.loads(out)["path"] == str(path) and path.read_bytes() == body
    assert (store.cache_dir() / "resnet56.json").is_file()  # the card travels with the weights
    assert store.zoo_weights("resnet56") == path


def test_fetch_with_a_wrong_checksum_leaves_nothing(server, zoo_dir, monkeypatch):
    url, routes = server
    routes["/zoo/resnet56.safetensors"] = b"tampered"
    _manifest(zoo_dir, "0" * 64, 8)
    monkeypatch.setenv(store.URL_ENV, f"{url}/zoo")
    with pytest.raises(DataError, match="checksum mismatch"):
        store.fetch("resnet56")
    assert not (store.cache_dir() / "resnet56.safetensors").exists()
    assert not [p for p in store.cache_dir().iterdir() if p.name.startswith(".")]


def test_fetch_from_an_unreachable_server_is_one_line(zoo_dir, monkeypatch, capsys):
    _manifest(zoo_dir, "0" * 64, 8)
    monkeypatch.setenv(store.URL_ENV, "http://127.0.0.1:9/zoo")  # the discard port: nothing listens
    code, _, err = run_cli(capsys, "zoo", "fetch", "resnet56")
    assert code == 1 and "download failed" in err and len(err.strip().splitlines()) == 1


# ---- the regression guard ----------------------------------------------------------------------
SHIPPED = [m["name"] for m in shipped_models()]


def test_some_zoo_model_ships():
    assert SHIPPED, "no zoo weights ship in the package (src/convzoo/zoo/weights/)"


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoint_gives_its_cards_accuracy_on_the_fixed_slice(name):
    """The first 1,000 Fashion-MNIST test images through the shipped weights and today's model
    code, against the slice accuracy measured when the card was written (within 1 point)."""
    from convzoo.data import Normalizer
    from convzoo.train.checkpoint import model_from_checkpoint
    from convzoo.train.metrics import checkpoint_test_set

    model, payload = model_from_checkpoint(f"zoo:{name}")
    test = checkpoint_test_set(payload)
    with torch.inference_mode():
        logits = model(Normalizer(test.mean, test.std)(test.images[:SLICE]))
    accuracy = float((logits.argmax(1) == test.labels[:SLICE]).float().mean())
    assert accuracy == pytest.approx(payload["card"]["slice_accuracy"], abs=0.01)


def test_large_weights_are_listed_not_shipped_and_load_once_fetched(lenet_runs, tiny_data_dir, zoo_dir, tmp_path,
                                                                    server, monkeypatch, capsys):
    url, routes = server
    monkeypatch.setattr(store, "SHIP_LIMIT", 1000)  # bytes: LeNet's 0.25 MB counts as large here
    card = export_row(ROWS["lenet"], [lenet_runs / "lenet" / "seed0"], zoo_dir, publish=tmp_path / "publish",
                      data_dir=tiny_data_dir)["card"]
    published = tmp_path / "publish" / "lenet.safetensors"
    assert not card["weights"]["shipped"] and not (zoo_dir / "lenet.safetensors").exists()
    entry = json.loads((zoo_dir / "manifest.json").read_text())["models"]["lenet"]
    assert entry == {"file": "lenet.safetensors", "size": published.stat().st_size,
                     "sha256": hashlib.sha256(published.read_bytes()).hexdigest()}
    code, _, err = run_cli(capsys, "eval", "zoo:lenet")
    assert code == 1 and "`convzoo zoo fetch lenet`" in err
    routes["/pub/lenet.safetensors"] = published.read_bytes()
    monkeypatch.setenv(store.URL_ENV, f"{url}/pub")
    assert store.fetch("lenet") == store.cache_dir() / "lenet.safetensors"
    code, out, _ = run_cli(capsys, "eval", "zoo:lenet", "--data-dir", tiny_data_dir, "--json")
    assert code == 0 and json.loads(out)["accuracy"] == pytest.approx(card["shipped_test_accuracy"], abs=1e-6)


def test_zoo_subcommands_and_the_old_flags_with_their_note(capsys, tmp_path):
    from convzoo.cli import main

    assert main(["zoo"]) == 0
    table = capsys.readouterr().out
    assert main(["zoo", "list"]) == 0 and capsys.readouterr().out == table
    assert main(["zoo", "plot", str(tmp_path / "a.png")]) == 0 and (tmp_path / "a.png").stat().st_size > 0
    assert capsys.readouterr().err == ""
    assert main(["zoo", "--plot", str(tmp_path / "b.png")]) == 0 and (tmp_path / "b.png").is_file()
    assert capsys.readouterr().err.startswith("note: `convzoo zoo --plot ...` is now `convzoo zoo plot ...`")
    for argv, message in ((["zoo", "trian", "lenet"], "unknown zoo subcommand 'trian'; did you mean train"),
                          (["zoo", "train"], "expected one of"), (["zoo", "estimate", "lenett"], "unknown zoo row"),
                          (["zoo", "plot", "--plot", "x.png"], "give the subcommand alone")):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
