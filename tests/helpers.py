"""What several test files share that is not a fixture."""

from __future__ import annotations

import contextlib
import threading
import typing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from convzoo.cli import main
from convzoo.models import model_info


def run_cli(capsys, *args):
    """`convzoo ARGS` in process, as a user calls it: (exit code, stdout, stderr). A bad flag's
    argparse exit counts as the exit code; a traceback on stderr fails the test."""
    capsys.readouterr()  # what was printed before is not this command's
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


# Families whose smallest member still takes seconds at its smallest input (U-Net's 31 M parameters
# on a 188x188 map, Wide ResNet-50-2's 69 M): all their models run in `make test` only.
HEAVY_FAMILIES = {"unet", "wide_resnet"}


def one_per_family_fast(names):
    """`names` as parameters where the smallest model of each family runs in the fast core and the
    family's other variants (deeper, wider: the same code at more cost) are marked slow, so
    `pytest -m "not slow"` covers every family but the heavy ones, and `make test` every model."""
    smallest = {}
    for name in names:
        family = model_info(name).family
        if family in HEAVY_FAMILIES:
            continue
        if family not in smallest or model_info(name).params < model_info(smallest[family]).params:
            smallest[family] = name
    fast = set(smallest.values())
    return [name if name in fast else pytest.param(name, marks=pytest.mark.slow) for name in names]


class FileServerHandler(BaseHTTPRequestHandler):
    """Serves `routes` (path -> bytes); a path under /drop/ promises the whole body, sends half and
    hangs up (a connection dropped midway)."""

    routes: typing.ClassVar[dict] = {}

    def do_GET(self):
        body = self.routes.get(self.path)
        if body is None:
            self.send_error(404)
            return
        dropped = self.path.startswith("/drop/")
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if dropped else body)
        if dropped:
            self.wfile.flush()
            self.close_connection = True

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def local_file_server():
    """A local HTTP server on a free port: (base URL, the routes dict to fill), shut down after."""
    handler = type("Handler", (FileServerHandler,), {"routes": {}})  # routes of its own
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler.routes
    finally:
        httpd.shutdown()
        httpd.server_close()
