"""`convzoo.explore(model)`: the explorer on a model defined here, traceable or not, its API, its port,
its live view of a model that trains in the same process, and what it refuses."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import convzoo
from convzoo.errors import ConvzooError

pytestmark = pytest.mark.slow  # each test starts a server
http = httpx.Client(timeout=120)  # a first request imports and traces: slow on a loaded machine


class TwoConv(nn.Module):
    def __init__(self, classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 8, 3)
        self.fc = nn.Linear(8 * 13 * 13, classes)

    def forward(self, x):
        x = F.relu(self.conv1(x))  # (N, 4, 28, 28)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # (N, 8, 13, 13)
        return self.fc(x.flatten(1))


class Moody(TwoConv):
    """Data-dependent control flow in its own forward: torch.fx cannot trace it."""

    def forward(self, x):
        x = F.relu(self.conv1(x))
        if x.mean() > 0:
            x = x * 2
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


def _pixels(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {"width": 28, "height": 28, "pixels": rng.integers(0, 256, 28 * 28).tolist()}


def test_a_traceable_model_has_its_graph_with_shapes_and_every_panel():
    torch.manual_seed(0)
    model = TwoConv().train()
    with convzoo.explore(model) as ex:
        graph = http.get(ex.url + "/api/graph").json()
        shapes = {n["id"]: n["shape"] for n in graph["nodes"]}
        assert graph["traced"] == "fx" and graph["note"] is None
        assert shapes["conv1"] == [4, 28, 28] and shapes["conv2"] == [8, 26, 26] and shapes["fc"] == [10]
        assert {"source": "conv2", "target": "relu_1", "shape": [8, 26, 26]} in graph["edges"]
        info = http.get(ex.url + "/api/model").json()
        assert info["input_shape"] == [1, 28, 28] and info["classes"] == [str(k) for k in range(10)]
        answer = http.post(ex.url + "/api/inspect", params={"node": "conv2", "c": 1, "y": 3, "x": 4},
                            json=_pixels()).json()
        assert answer["maps"]["channels"] == 8 and answer["filters"]["shape"] == [8, 4, 3, 3]
        assert answer["saliency_png"].startswith("data:image/png") and answer["unit"]["box"]["size"] == [5, 5]
        assert model.training  # served from a copy: a model that trains is never switched to eval
        explained = answer["unit"]["explain"][0]
        assert explained["input_channels"] == 4 and explained["total"] == pytest.approx(answer["unit"]["value"], abs=1e-3)


def test_an_untraceable_model_is_drawn_as_a_chain_with_a_note_and_still_explains_a_unit():
    with convzoo.explore(Moody()) as ex:
        graph = http.get(ex.url + "/api/graph").json()
        assert graph["traced"] == "hooks" and "cannot trace" in graph["note"]
        assert [(n["id"], n["shape"]) for n in graph["nodes"]] == [
            ("input", [1, 28, 28]), ("conv1", [4, 28, 28]), ("conv2", [8, 26, 26]), ("fc", [10]), ("output", [10])]
        assert [(e["source"], e["target"]) for e in graph["edges"]] == [
            ("input", "conv1"), ("conv1", "conv2"), ("conv2", "fc"), ("fc", "output")]
        answer = http.post(ex.url + "/api/inspect", params={"node": "conv2", "c": 0, "y": 0, "x": 0},
                            json=_pixels()).json()
        explained = answer["unit"]["explain"][0]
        assert answer["unit"]["box"]["size"] == [5, 5]  # the field traced through the hooks' pass
        assert explained["total"] == pytest.approx(answer["unit"]["value"], abs=1e-3)


def test_stop_frees_the_port():
    ex = convzoo.explore(TwoConv())
    port = int(ex.url.rsplit(":", 1)[1])
    assert http.get(ex.url + "/api/health").json()["status"] == "ok"
    ex.stop()
    with pytest.raises(httpx.ConnectError):
        http.get(ex.url + "/api/health")
    with socket.socket() as sock:  # the listening socket is closed: nothing answers on the port
        assert sock.connect_ex(("127.0.0.1", port)) != 0
    with convzoo.explore(TwoConv(), port=port) as again:  # and the port can be served again
        assert again.url == ex.url and http.get(again.url + "/api/health").json()["status"] == "ok"
    assert "stopped" in ex._repr_html_()


def test_a_model_training_in_this_process_is_seen_live(tmp_path, tiny_data_dir):
    from convzoo.train import TrainConfig, Trainer

    torch.manual_seed(0)
    model = TwoConv()
    with convzoo.explore(model) as ex:
        before = http.post(ex.url + "/api/predict", json=_pixels()).json()["probabilities"]
        assert http.get(ex.url + "/api/runs").json()["runs"] == []
        config = TrainConfig(data_dir=str(tiny_data_dir), epochs=1, out=str(tmp_path / "mine"), progress=False,
                             precision="fp32", lr=0.05)
        Trainer(config, model=model).fit()
        runs = http.get(ex.url + "/api/runs").json()["runs"]
        assert [(r["name"], r["epochs"], r["model"]) for r in runs] == [("mine", 1, "TwoConv")]
        after = http.post(ex.url + "/api/predict", json=_pixels()).json()["probabilities"]
        assert after != before  # the page shows the weights the trainer changed
    with convzoo.explore(model) as ex:  # after training: the run's data names the classes
        assert http.get(ex.url + "/api/model").json()["classes"][0] == "T-shirt/top"


def test_what_explore_refuses_is_one_line(tmp_path):
    with pytest.raises(ConvzooError, match="not a run folder"):
        convzoo.explore(TwoConv(), run=tmp_path)
    with pytest.raises(ConvzooError, match="expected an nn.Module"):
        convzoo.explore("lenet")
    with pytest.raises(ConvzooError, match=r"output is \(1, 7\).*needs \(1, 10\)"):
        convzoo.explore(TwoConv(classes=7), data="fashion-mnist")
    with pytest.raises(ConvzooError, match="no input size fits"):
        convzoo.explore(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(17, 2)))


def test_a_notebook_cell_shows_the_explorer_inline(tmp_path):
    """A notebook run by a real kernel (nbclient): the cell's output is the page, in an IFrame."""
    import nbformat
    from nbclient import NotebookClient

    source = str(Path(convzoo.__file__).resolve().parents[1])  # the kernel imports the convzoo under test
    cells = [(f"import sys; sys.path.insert(0, {source!r})\nimport torch.nn as nn, convzoo\n"
              "net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 10))\n"
              "ex = convzoo.explore(net)\nex"),
             "import httpx\nprint(httpx.get(ex.url + '/api/graph', timeout=120).json()['nodes'][1]['shape'])\nex.stop()"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = next(o for o in notebook.cells[0].outputs if o["output_type"] == "execute_result")["data"]
    assert not [o for o in notebook.cells[0].outputs if o.get("name") == "stderr"]  # no warning in the cell
    assert shown["text/html"].startswith('<iframe src="http://127.0.0.1:') and "<Explorer of Sequential" in shown["text/plain"]
    assert [o["text"].strip() for o in notebook.cells[1].outputs if o.get("name") == "stdout"] == ["[4, 26, 26]"]


def test_a_large_untraceable_model_collapses_its_chain_into_blocks():
    from convzoo.analysis.graph import layer_graph, run_graph

    class Deep(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(1, 4, 3, padding=1)
            self.blocks = nn.Sequential(*[nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()) for _ in range(5)])
            self.head = nn.Linear(4 * 8 * 8, 3)

        def forward(self, x):
            x = self.stem(x)
            return self.head((self.blocks(x) if x.std() > 0 else x).flatten(1))

    graph, fields = layer_graph(Deep(), (1, 8, 8), max_nodes=9)  # 13 layer calls: too many
    assert graph.collapsed and graph.note and graph.module is None
    assert [n.id for n in graph.nodes] == ["input", "stem", *(f"blocks.{k}" for k in range(5)), "head", "output"]
    assert graph.by_id["blocks.2"].params == 4 * 4 * 9 + 4 and fields["blocks.2"][0].rf == 9  # 4 convs of 3x3
    values = run_graph(graph, torch.rand(1, 1, 8, 8))
    assert values.outputs[graph.value_of["blocks.2"]].shape == (1, 4, 8, 8)  # a block shows its last layer
