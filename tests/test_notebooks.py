"""The lectures' notebooks (notebooks/): stored without outputs, and each one runs top to bottom.

The run is the quick mode (CONVZOO_NOTEBOOK_QUICK=1: every training, grid and optimisation shrunk,
the same cells), in a kernel of this interpreter that imports this checkout's convzoo. A cell
error fails the test with the cell's traceback. The full versions are timed by the command in
notebooks/README.md, not here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
LECTURES = ["01-convolutions", "02-pooling", "03-lenet", "04-alexnet-vgg-nin-googlenet",
            "05-batchnorm-resnet-densenet", "06-what-cnns-learn", "07-baselines-and-model-selection",
            "08-applications"]


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_every_lecture_has_its_notebook():
    assert [p.stem for p in NOTEBOOKS] == LECTURES


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_stripped(path):
    """No outputs, no execution counts, no widget state: a diff shows only what a person changed."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert "widgets" not in notebook.get("metadata", {})
    for number, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name}: cell {number} has outputs (see notebooks/README.md)"
            assert cell.get("execution_count") is None, f"{path.name}: cell {number} has an execution count"
        assert "execution" not in cell.get("metadata", {}), f"{path.name}: cell {number} has timing metadata"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_states_its_time_installs_itself_and_ends_with_exercises(path):
    notebook = cells(path)
    first_code = next(source(c) for c in notebook if c["cell_type"] == "code")
    assert "%pip install" in first_code and 'find_spec("convzoo")' in first_code
    heading = source(notebook[0])
    assert "on two CPU cores" in heading and "TIME" not in heading, f"{path.name}: no measured time at the top"
    last = source(notebook[-1])
    assert last.startswith("## Exercises") and "notebooks/solutions.md" in last


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_quick_mode(path, tmp_path, monkeypatch):
    import nbclient  # the test extras: nbclient, nbformat, ipykernel
    import nbformat

    # The kernel inherits this environment: this checkout's convzoo, the quick mode, one thread per
    # test worker (conftest.py), and the notebook's temporary files under tmp_path.
    monkeypatch.setenv("CONVZOO_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    notebook = nbformat.read(path, as_version=4)
    # "python3": ipykernel's own kernel, which jupyter_client starts with this interpreter (sys.executable).
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    images = sum("image/png" in output.get("data", {}) for cell in notebook.cells
                 for output in cell.get("outputs", []))
    assert images >= 1, f"{path.name}: ran, but showed no figure"

