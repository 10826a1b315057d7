"""`convzoo.explore(model)`: the demo's explorer on any nn.Module in memory, from a script or a notebook.

The same app as `convzoo demo` (serve/app.py) serves the one module (`LiveModel`) from a background
thread on a free port. The page shows what the module does now: a model that `Trainer.fit` trains
in the same process shows its current weights at each request, and its run's curves grow live on
`/runs` (the trainer records its run directory for the module: train/live.py).

What the model reads comes from `data` (a dataset name, a DataBundle, an ArrayDataset), else from
the run that trains it, else it is guessed from its first layer (infer/describe.py).
"""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path

from torch import nn

from ..errors import ConvzooError
from ..infer.describe import describe_input
from .app import create_app
from .models import LiveModel
from .runs import LiveRuns
from .server import ServerThread

FRAME_HEIGHT = 720  # pixels of the page shown inline in a notebook


class Explorer:
    """A running explorer: `.url`, `.stop()`; a context manager; shown inline in Jupyter."""

    def __init__(self, server: ServerThread, label: str):
        self._server, self.label = server, label
        self.url = server.__enter__()
        self.running = True

    def stop(self) -> None:
        """Stop serving and free the port (safe to call twice)."""
        if self.running:
            self.running = False
            self._server.__exit__(None, None, None)

    def wait(self) -> None:
        """Serve until Ctrl-C (what a script calls last, or it would end and the server with it)."""
        import time

        print(f"convzoo: serving {self.label} at {self.url}/ until Ctrl-C", file=sys.stderr, flush=True)
        try:
            while self.running and self._server.thread.is_alive():
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> Explorer:  # noqa: PYI034 - typing.Self needs Python 3.11
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Explorer of {self.label} at {self.url}/{'' if self.running else ' (stopped)'}>"

    def _repr_html_(self) -> str:
        if not self.running:
            return f"<p>explorer of {html.escape(self.label)} (stopped)</p>"
        url = html.escape(self.url + "/", quote=True)
        return (f'<iframe src="{url}" width="100%" height="{FRAME_HEIGHT}" style="border:1px solid #ccc" '
                f'title="convzoo explorer: {html.escape(self.label)}"></iframe>'
                f'<p><a href="{url}" target="_blank">open {html.escape(self.label)} in a tab</a> · '
                f'<a href="{url}runs" target="_blank">training curves</a></p>')


def _run_data(runs: list[Path]) -> dict | None:
    """The data description the latest of `runs` was trained on (its config.json), if any."""
    for path in reversed(runs):
        try:
            data = json.loads((path / "config.json").read_text()).get("data")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(data, dict) and {"classes", "shape", "mean", "std"} <= data.keys():
            return data
    return None


def explore(model: nn.Module, data=None, *, input_shape=None, run: str | Path | None = None,
            label: str | None = None, host: str = "127.0.0.1", port: int = 0) -> Explorer:
    """Serve the explorer of `model` (any nn.Module, trained or not) and return its handle.

    `data`: a dataset name (`"fashion-mnist"`), a DataBundle or an ArrayDataset: the input size,
    normalisation, class names and example images. Without it, the data of the run that trains the
    model (or of `run`, a run folder) is used, else the input is guessed. `run` also adds that
    run's curves to `/runs`, beside those of any `Trainer.fit` of this model in this process."""
    from ..train.live import runs_of

    if not isinstance(model, nn.Module):
        raise ConvzooError(f"explore: expected an nn.Module, got {type(model).__name__}")
    label = label or type(model).__name__
    runs = LiveRuns(model, [run] if run is not None else [])
    if data is None:
        data = _run_data([*runs.named, *runs_of(model)])
    described = describe_input(model, data, input_shape, label)
    examples = data.test if hasattr(data, "test") else data if hasattr(data, "images") else None
    app = create_app(model=LiveModel(model, described, label, examples), runs=runs)
    explorer = Explorer(ServerThread(app, host, port), label)
    if "ipykernel" not in sys.modules:  # a script or a terminal: say where (a notebook shows the page)
        print(f"convzoo: exploring {label} at {explorer.url}/ while this process runs "
              "(.wait() serves until Ctrl-C)", file=sys.stderr, flush=True)
    return explorer
