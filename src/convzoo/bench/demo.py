"""`convzoo bench demo`: the time from the end of a stroke to the answer and the feature maps.

The server is `convzoo demo --port 0` in its own process (so the client's Python does not share
its interpreter lock), on 127.0.0.1, serving `--checkpoint` (any model: a zoo name, a run, a
file); the client (`http.client`, one keep-alive connection) sends one canvas-like PNG drawing per
request, one request at a time, a fixed number of times, and stops the server. Latency is what the
page waits for after a stroke ends: HTTP, decoding, preprocessing, the forward pass, the feature
maps as PNG tiles and the JSON answer.
"""

from __future__ import annotations

import http.client
import io
import json
import re
import selectors
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass

from ..children import die_with_parent
from ..errors import ConvzooError
from ..timing import LatencyPercentiles

READY_TIMEOUT = 120  # seconds for the server to import torch and load its models


@dataclass
class DemoBench(LatencyPercentiles):
    key: str  # the served model's key
    model: str
    latency_ms: list[float]
    payload_bytes: int
    server_peak_rss_mib: float | None


def drawing_png(size: int = 280) -> bytes:
    """A black '4' on white, drawn with the page's brush width: what the page sends while drawing."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(img)
    s = size / 280
    width = round(20 * s)
    for line in ([(90, 50), (70, 160), (190, 160)], [(160, 60), (150, 240)]):
        draw.line([(x * s, y * s) for x, y in line], fill=0, width=width, joint="curve")
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def start_server(checkpoint: str | None) -> tuple[subprocess.Popen, str]:
    """`convzoo demo` on a free port of 127.0.0.1; (process, base URL) once it listens."""
    command = [sys.executable, "-m", "convzoo", "demo", "--host", "127.0.0.1", "--port", "0"]
    if checkpoint:
        command += ["--checkpoint", str(checkpoint)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=die_with_parent())  # noqa: PLW1509 - children.py says why
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if selector.select(timeout=0.5):
            line = proc.stdout.readline()
            found = re.search(r"http://\S+", line)
            if found:
                return proc, found.group(0).rstrip("/")
            if not line:  # the server exited before listening
                break
    stop_server(proc)
    raise ConvzooError(f"the demo server did not start: {proc.stderr.read().strip()[-300:]}")


def server_peak_rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            line = next((x for x in f if x.startswith("VmHWM:")), None)
    except OSError:
        return None
    return int(line.split()[1]) / 1024 if line else None


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def bench_demo(checkpoint: str | None = None, key: str | None = None, requests: int = 300,
               warmup: int = 20) -> DemoBench:
    """Latencies (ms) of `requests` sequential POST /api/predict calls after `warmup` untimed ones,
    over one keep-alive connection (the standard library's client: the least client overhead)."""
    payload = drawing_png()
    proc, url = start_server(checkpoint)
    host, port = url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)

    def call(method: str, path: str, body: bytes | None = None) -> dict:
        headers = {"Content-Type": "image/png"} if body else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise ConvzooError(f"{path} answered {response.status}: {data[:200].decode(errors='replace')}")
        return json.loads(data)

    try:
        health = call("GET", "/api/health")
        key = key or health["default_model"]
        if key not in health["models"]:
            raise ConvzooError(f"model {key!r} is not served; the server has {', '.join(health['models'])}")
        query = urllib.parse.urlencode({"model": key})
        card = call("GET", f"/api/model?{query}")["card"]
        model = card["model"]["name"] if isinstance(card.get("model"), dict) else str(card.get("model"))
        path = f"/api/predict?{query}"
        for _ in range(warmup):
            call("POST", path, payload)
        latency = []
        for _ in range(max(requests, 1)):
            started = time.perf_counter()
            call("POST", path, payload)
            latency.append((time.perf_counter() - started) * 1e3)
        rss = server_peak_rss_mib(proc.pid)
    finally:
        connection.close()
        stop_server(proc)
    return DemoBench(key, model, latency, len(payload), rss)
