"""The demo's round-two API, in process (TestClient): the layer graph against `convzoo summary`,
node inspection (maps, saliency, receptive field, a conv unit's multiply-and-sum against the
model's own forward pass), corr2d against convzoo.reference, runs and live streams, the model
picker, scenes, and every bad input as one plain line."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from convzoo.analysis.graph import layer_graph
from convzoo.analysis.summary import summarize
from convzoo.bench.demo import drawing_png
from convzoo.errors import ConvzooError
from convzoo.models import create_model
from convzoo.reference import conv2d_forward
from convzoo.serve import create_app
from convzoo.train.checkpoint import PRETRAINED, save_checkpoint
from convzoo.zoo import shipped_models

DIGITS = {"name": "mnist-sample", "classes": [str(k) for k in range(10)], "mean": [0.13], "std": [0.31],
          "shape": [1, 28, 28], "train": 1000, "test": 100}
SCENES = {"name": "digit-scenes", "classes": ["background", *DIGITS["classes"]], "mean": [0.06],
          "std": [0.22], "shape": [1, 64, 64], "task": "segmentation", "train": 1000, "test": 100}


def make_run(folder, name: str, data: dict, task: str = "classification", rows=(), **kwargs):
    """A run folder with an untrained checkpoint of registry model `name` and its metrics."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"name": name, "num_classes": len(data["classes"]), "in_channels": data["shape"][0],
            "input_size": data["shape"][1:], "kwargs": kwargs}
    model = create_model(name, num_classes=len(data["classes"]), in_channels=data["shape"][0],
                         input_size=tuple(data["shape"][1:]), **kwargs)
    save_checkpoint(folder / "checkpoint.pt", {"model": spec, "task": task, "state_dict": model.state_dict(),
                                               "data": data, "history": list(rows), "epoch": len(rows)})
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


def png(data_url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))))


def post_image(client, path: str, **params):
    return client.post(path, params=params, content=drawing_png(), headers={"Content-Type": "image/png"})


def meta_graph(name: str, shape=(1, 28, 28), **options):
    with torch.device("meta"):
        model = create_model(name, in_channels=shape[0], input_size=shape[1:]).eval()
    graph, fields = layer_graph(model, shape, name, **options)
    return model, graph, fields


@pytest.mark.slow
def test_graph_numbers_are_summarys_and_residual_adds_are_branches():
    model, graph, _ = meta_graph("resnet20")
    summary = summarize(model, (1, 28, 28))
    rows = {r.name: r for r in summary.rows}
    modules = [n for n in graph.nodes if n.module]
    assert len(modules) == sum(1 for r in summary.rows if not r.expanded and r.calls)
    for n in modules:
        row = rows[n.module]
        assert (n.shape, n.params, n.macs) == (row.shape, row.params, row.macs or 0), n.module
    d = graph.to_dict()
    assert (d["params"], d["macs"]) == (summary.params, summary.macs)
    adds = [n for n in graph.nodes if n.kind == "add"]
    assert len(adds) == 9 and all(len(n.inputs) == 2 for n in adds)  # 3 stages x 3 residual blocks
    shapes = {n.id: n.shape for n in graph.nodes}
    assert all(e["shape"] == shapes[e["source"]] for e in d["edges"])


@pytest.mark.slow
def test_inception_concatenates_four_branches_and_a_large_graph_collapses():
    _, graph, _ = meta_graph("googlenet")
    concats = [n for n in graph.nodes if n.kind == "concat"]
    assert concats and all(len(n.inputs) == 4 for n in concats)
    by_id = graph.by_id
    for n in concats:  # the four branches are drawn side by side, not on top of each other
        assert len({by_id[s].column for s in n.inputs}) == 4
    model, big, _ = meta_graph("resnet110", max_nodes=80)
    assert big.collapsed and len(big.nodes) <= 80
    assert big.to_dict()["params"] == sum(p.numel() for p in model.parameters())
    assert any(n.members > 1 for n in big.nodes)


def test_graph_endpoint_shapes_equal_the_models(client):
    data = client.get("/api/graph", params={"model": "digits"}).json()
    from convzoo.infer import Predictor

    summary = summarize(Predictor("digits").model, (1, 28, 28))
    rows = {r.name: r for r in summary.rows}
    for node in data["nodes"]:
        if node["module"]:
            assert node["shape"] == rows[node["module"]].shape and node["params"] == rows[node["module"]].params
    assert data["nodes"][0]["kind"] == "input" and data["nodes"][-1]["shape"] == [10]


def test_inspect_a_conv_unit(client):
    graph = client.get("/api/graph", params={"model": "digits"}).json()
    conv = next(n for n in graph["nodes"] if n["kind"] == "conv")
    r = post_image(client, "/api/inspect", model="digits", node=conv["id"], c=3, y=10, x=10)
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["shape"] == conv["shape"] == [32, 28, 28]
    assert png(d["saliency_png"]).shape == (28, 28) and png(d["saliency_png"]).max() == 255
    assert d["filters"]["shape"] == [32, 1, 5, 5]
    unit = d["unit"]
    box = unit["box"]
    assert (box["top"], box["bottom"], box["left"], box["right"]) == (8, 12, 8, 12)  # 5x5, padding 2
    # The multiply-and-sum equals the conv's own output at that unit (a forward hook on the model).
    from convzoo.infer import Predictor

    predictor = Predictor("digits")
    seen = {}
    module = dict(predictor.model.named_modules())[conv["module"]]
    module.register_forward_hook(lambda m, i, o: seen.setdefault("out", o))
    predictor.analyse(Image.open(io.BytesIO(drawing_png())))
    expected = float(seen["out"][0, 3, 10, 10])
    first = unit["explain"][0]
    assert first["unit"] == [3, 10, 10] and first["total"] == pytest.approx(expected, abs=1e-3)
    assert unit["value"] == pytest.approx(expected, abs=1e-3)
    assert np.allclose(np.array(first["window"]) * np.array(first["kernel"]), first["products"], atol=1e-3)
    assert [e["unit"][2] for e in unit["explain"]] == [10, 11, 12, 13, 14]  # the neighbours it animates


def test_inspect_errors_are_plain_words(client):
    assert "no node" in post_image(client, "/api/inspect", model="digits", node="nope").json()["error"]
    graph = client.get("/api/graph", params={"model": "digits"}).json()
    conv = next(n for n in graph["nodes"] if n["kind"] == "conv")
    r = post_image(client, "/api/inspect", model="digits", node=conv["id"], c=0, y=99, x=0)
    assert r.status_code == 400 and "outside" in r.json()["error"]


@pytest.mark.parametrize("settings", [{}, {"padding": 1}, {"padding": 1, "stride_h": 3, "stride_w": 2},
                                      {"channels": 2}, {"padding": 2, "stride_h": 2, "channels": 3}])
def test_corr2d_endpoint_is_the_reference(client, settings):
    d = client.get("/api/corr2d", params={"example": "corr2d", **settings}).json()
    x, k = np.array(d["input"])[None], np.array(d["kernel"])[None]
    out, _ = conv2d_forward(x, k, stride=tuple(d["stride"]), padding=d["padding"])
    assert d["output"] == out[0, 0].tolist()
    assert [s["value"] for s in d["steps"]] == out[0, 0].ravel().tolist()
    if not settings:
        assert d["output"] == [[19, 25], [37, 43]]
    if settings == {"channels": 2}:
        assert d["output"] == [[56, 72], [104, 120]]


def test_corr2d_bad_settings(client):
    assert client.get("/api/corr2d", params={"padding": 9}).status_code == 400
    assert "unknown example" in client.get("/api/corr2d", params={"example": "x"}).json()["error"]
    r = client.get("/api/corr2d", params={"example": "cartesian", "stride_h": 4, "stride_w": 4})
    assert r.status_code == 200 and r.json()["output"] == [[2]]


@pytest.fixture
def runs_folder(tmp_path):
    rows = [{"epoch": 1, "test_acc": 0.5, "train_loss": 1.2}]
    make_run(tmp_path / "lenet-a", "lenet", DIGITS, rows=rows)
    make_run(tmp_path / "scenes", "unet_padded", SCENES, task="segmentation", width=4)
    study = tmp_path / "study-x"
    study.mkdir()
    (study / "results.json").write_text("{}")
    (study / "results.md").write_text("| run | acc |\n|---|---|\n| a | 1 |\n")
    Image.new("L", (4, 4)).save(study / "fig.png")
    return tmp_path


def test_runs_listing_metrics_and_figures(runs_folder):
    with TestClient(create_app(runs=runs_folder)) as c:
        listing = c.get("/api/runs").json()
        assert [r["name"] for r in listing["runs"]] == ["lenet-a", "scenes"]
        assert listing["runs"][0]["epochs"] == 1 and listing["studies"][0]["figures"] == ["fig.png"]
        assert c.get("/api/runs/metrics", params={"run": "lenet-a"}).json()["rows"][0]["test_acc"] == 0.5
        assert c.get("/api/runs/figure", params={"study": "study-x", "name": "fig.png"}).status_code == 200
        for bad in ("../lenet-a/checkpoint.pt", "nope.png"):
            assert c.get("/api/runs/figure", params={"study": "study-x", "name": bad}).status_code == 400
        assert "no run named" in c.get("/api/runs/metrics", params={"run": "../x"}).json()["error"]
        keys = c.get("/api/health").json()["models"]
        zoo = [m["ref"] for m in shipped_models()]
        assert keys == [*PRETRAINED, *zoo, "run:lenet-a", "run:scenes"]


def test_stream_sends_rows_then_each_new_line(runs_folder):
    metrics = runs_folder / "lenet-a" / "metrics.jsonl"
    with TestClient(create_app(runs=runs_folder)) as c:
        with c.stream("GET", "/api/runs/stream", params={"run": "lenet-a"}) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            lines = r.iter_lines()
            got = []
            for line in lines:
                if line.startswith("data:"):
                    got.append(json.loads(line[5:]))
                    if len(got) == 1:
                        with open(metrics, "a") as f:
                            f.write(json.dumps({"epoch": 2, "test_acc": 0.75}) + "\n")
                    else:
                        break
        assert [g["epoch"] for g in got] == [1, 2] and got[1]["test_acc"] == 0.75
        assert c.get("/api/health").status_code == 200  # the stream's end cost the server nothing


def test_stream_cap(runs_folder, monkeypatch):
    from convzoo.serve import runs

    monkeypatch.setattr(runs, "MAX_STREAMS", 0)
    with TestClient(create_app(runs=runs_folder)) as c:
        r = c.get("/api/runs/stream", params={"run": "lenet-a"})
        assert r.status_code == 503 and "live streams" in r.json()["error"]


def test_scene_model_labels_pixels_and_models_load_lazily(runs_folder):
    app = create_app(runs=runs_folder, capacity=1)
    with TestClient(app) as c:
        info = c.get("/api/model", params={"model": "run:scenes"}).json()
        assert info["widget"] == "scene" and info["task"] == "segmentation"
        assert c.get("/api/model", params={"model": "run:lenet-a"}).json()["widget"] == "draw"
        assert c.get("/api/model", params={"model": "fashion"}).json()["widget"] == "upload"
        assert len(app.state.store._loaded) == 1  # capacity 1: the least recently used went
        scene = Image.new("L", (112, 32), 255)
        buffer = io.BytesIO()
        scene.save(buffer, format="PNG")
        r = c.post("/api/predict", params={"model": "run:scenes"}, content=buffer.getvalue(),
                   headers={"Content-Type": "image/png"})
        d = r.json()
        assert d["task"] == "segmentation" and d["size"] == [32, 112]
        assert png(d["overlay_png"]).shape == (32, 112, 4)
        assert sum(d["pixels"].values()) == 32 * 112


def test_bad_checkpoints_and_runs_fail_at_start_in_one_line(tmp_path, capsys):
    from convzoo.cli import main

    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConvzooError, match="no such checkpoint"):
        create_app("nowhere")
    with pytest.raises(ConvzooError, match="not a convzoo checkpoint"):
        create_app(tmp_path / "junk.pt")
    with pytest.raises(ConvzooError, match="no runs in it"):
        create_app(runs=tmp_path / "empty")
    assert main(["demo", "--runs", str(tmp_path / "empty"), "--port", "0"]) == 1
    err = capsys.readouterr().err.strip()
    assert "no runs in it" in err and len(err.splitlines()) == 1


def test_the_picker_lists_the_zoos_shipped_models(monkeypatch):
    import convzoo.zoo
    from convzoo.serve.models import available_models

    monkeypatch.setattr(convzoo.zoo, "shipped_models",
                        lambda: [{"name": "googlenet", "ref": "zoo:googlenet", "data": "fashion-mnist"}])
    entries = available_models()
    assert [e.key for e in entries] == [*PRETRAINED, "zoo:googlenet"]
    assert entries[-1].source == "zoo" and entries[-1].ref == "zoo:googlenet"
