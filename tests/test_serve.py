"""The demo's HTTP API against a real uvicorn server on 127.0.0.1: good requests in every accepted
form, every kind of bad request (400/413/415 with a JSON error), and a server that keeps serving."""

from __future__ import annotations

import io
import logging
import re
import socket
import struct
import time
import zlib

import httpx
import numpy as np
import pytest
from PIL import Image

from convzoo.bench.demo import drawing_png
from convzoo.serve import create_app
from convzoo.serve.body import MAX_BODY
from convzoo.serve.server import ServerThread, guarded_protocol
from convzoo.train.checkpoint import PRETRAINED
from convzoo.zoo import shipped_models

pytestmark = pytest.mark.slow  # a real uvicorn server per test


@pytest.fixture(scope="module")
def client():
    with ServerThread(create_app()) as url, httpx.Client(base_url=url, timeout=30) as c:
        yield c


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def seven(size=200) -> Image.Image:
    """A dark 7 on white."""
    from PIL import ImageDraw

    img = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(img)
    draw.line([(0.25 * size, 0.2 * size), (0.75 * size, 0.2 * size), (0.45 * size, 0.85 * size)],
              fill=0, width=size // 12, joint="curve")
    return img


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height, with a tiny (wrong) IDAT: enough for a lazy open."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


EXTERNAL = r"(?:src|href)=\"(?:https?:)?//|url\((?:https?:)?//|fetch\(\W*https?:"  # anything not local


def check_answer(data: dict, model: str = "digits"):
    assert data["model"] == model
    assert len(data["probabilities"]) == len(data["classes"]) == 10
    assert abs(sum(data["probabilities"]) - 1) < 1e-3
    assert data["answer"] == data["classes"][data["index"]]
    assert np.array(data["input28"]).shape == (28, 28)
    assert data["input28_png"].startswith("data:image/png;base64,")
    layers = data["feature_maps"]
    # the shipped models' first conv layers: lenet_wide's two; fastnet's whitened stem (16 channels,
    # its map after the 2x2 pool) and the first three after it
    names, channels, side = {"digits": (["conv1", "conv2"], 32, 28),
                             "fashion": (["conv1", "conv2", "conv3", "conv4"], 16, 14)}[model]
    assert [layer["layer"] for layer in layers] == names
    assert layers[0]["channels"] == channels and (layers[0]["height"], layers[0]["width"]) == (side, side)
    assert all(layer["png"].startswith("data:image/png;base64,") for layer in layers)


def test_health_and_model_card(client):
    health = client.get("/api/health").json()
    zoo = [m["ref"] for m in shipped_models()]
    assert zoo and all(ref.startswith("zoo:") for ref in zoo)  # the package ships zoo weights
    assert health["status"] == "ok" and health["models"] == [*PRETRAINED, *zoo]
    info = client.get("/api/model", params={"model": "digits"}).json()
    assert info["card"]["held_out_accuracy"] >= 0.99 and info["classes"][7] == "7"
    assert client.get("/api/model", params={"model": "fashion"}).json()["classes"][0] == "T-shirt/top"


@pytest.mark.parametrize("page_path", ["/", "/learn", "/runs"])
def test_pages_are_served_and_self_contained(client, page_path):
    page = client.get(page_path)
    assert page.status_code == 200 and "<script" in page.text
    scripts = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert any(s.endswith(".js") for s in scripts) and any(s.endswith(".css") for s in scripts)
    for path in [page_path, *scripts]:
        text = client.get(path).text
        assert client.get(path).status_code == 200
        assert not re.search(EXTERNAL, text), path


def test_predict_png_jpeg_multipart_and_json(client):
    img = seven()
    answers = []
    r = client.post("/api/predict", content=png_bytes(img), headers={"Content-Type": "image/png"})
    check_answer(r.json())
    answers.append(r.json()["answer"])
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=85)
    r = client.post("/api/predict?model=digits", content=buffer.getvalue(),
                    headers={"Content-Type": "image/jpeg"})
    answers.append(r.json()["answer"])
    r = client.post("/api/predict", files={"image": ("seven.png", png_bytes(img), "image/png")})
    answers.append(r.json()["answer"])
    grey = np.asarray(img)
    r = client.post("/api/predict", json={"width": 200, "height": 200, "pixels": grey.ravel().tolist()})
    answers.append(r.json()["answer"])
    rgba = np.stack([grey] * 3 + [np.full_like(grey, 255)], -1)
    r = client.post("/api/predict", json={"width": 200, "height": 200, "pixels": rgba.ravel().tolist(),
                                          "model": "digits"})
    check_answer(r.json())
    answers.append(r.json()["answer"])
    assert answers == ["7"] * 5
    assert r.json()["inverted"] is True and r.json()["empty"] is False


def test_fashion_model(client):
    trouser = np.full((300, 300), 255, np.uint8)
    trouser[20:280, 100:145] = 40  # two dark legs
    trouser[20:280, 155:200] = 40
    trouser[20:60, 100:200] = 40  # waist
    upload = {"image": ("t.png", png_bytes(Image.fromarray(trouser)), "image/png")}
    r = client.post("/api/predict?model=fashion", files=upload)
    check_answer(r.json(), "fashion")
    assert r.json()["answer"] == "Trouser"


def test_empty_drawing_says_so(client):
    r = client.post("/api/predict", content=png_bytes(Image.new("L", (280, 280), 255)),
                    headers={"Content-Type": "image/png"})
    assert r.status_code == 200 and r.json()["empty"] is True


def too_much():
    chunk = b"\x00" * 65536
    for _ in range(MAX_BODY // len(chunk) + 2):
        yield chunk


BAD_REQUESTS = [
    # (what, request arguments, status, words in the error)
    ("GIF content type", {"content": b"GIF89a", "headers": {"Content-Type": "image/gif"}}, 415,
     "not supported"),
    ("no content type", {"content": b"abc"}, 415, "Content-Type"),
    ("GIF bytes said to be PNG", {"content": b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
                                      "headers": {"Content-Type": "image/png"}}, 415, "not a PNG or JPEG"),
    ("declared body too big", {"content": b"x" * (MAX_BODY + 1), "headers": {"Content-Type": "image/png"}},
     413, "limit"),
    ("streamed body too big", {"content": too_much(), "headers": {"Content-Type": "image/png"}}, 413,
     "limit"),
    ("too many pixels", {"content": png_header_only(5000, 10), "headers": {"Content-Type": "image/png"}},
     413, "4096"),
    ("bomb dimensions", {"content": png_header_only(60000, 60000), "headers": {"Content-Type": "image/png"}},
     413, "pixels"),
    ("truncated PNG", {"content": png_bytes(seven())[:300], "headers": {"Content-Type": "image/png"}},
     400, "not a readable"),
    ("empty body", {"content": b"", "headers": {"Content-Type": "image/png"}}, 400, "empty"),
    ("invalid JSON", {"content": b"{width:", "headers": {"Content-Type": "application/json"}}, 400, "JSON"),
    ("JSON list", {"json": [1, 2, 3]}, 400, "width"),
    ("JSON wrong pixel count", {"json": {"width": 3, "height": 3, "pixels": [0] * 8}}, 400, "needs 9"),
    ("JSON pixels out of range", {"json": {"width": 1, "height": 1, "pixels": [300]}}, 400, "0-255"),
    ("JSON nested pixels", {"json": {"width": 2, "height": 1, "pixels": [[0], [1]]}}, 400, "flat"),
    ("JSON ragged pixels", {"json": {"width": 2, "height": 1, "pixels": [[0], [1, 2]]}}, 400, "flat"),
    ("JSON nested 200,000 deep", {"content": b"[" * 200_000 + b"]" * 200_000,
                                  "headers": {"Content-Type": "application/json"}}, 400, "nested too deeply"),
    ("JSON model not a string", {"json": {"width": 1, "height": 1, "pixels": [0], "model": ["digits"]}}, 400,
     "model"),
    ("JSON huge dimensions", {"json": {"width": 100000, "height": 1, "pixels": []}}, 413, "4096"),
    ("multipart without image", {"files": {"picture": ("a.png", b"x", "image/png")}}, 400, '"image"'),
    ("multipart GIF", {"files": {"image": ("a.gif", b"GIF89a", "image/gif")}}, 415, "not supported"),
    ("unknown model", {"params": {"model": "cifar"}, "content": b"x", "headers": {"Content-Type": "image/png"}},
     400, "unknown model"),
]


@pytest.mark.parametrize("what, request_args, status, words", BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_bad_requests_get_a_json_error_and_the_server_keeps_serving(client, what, request_args, status,
                                                                    words):
    r = client.post("/api/predict", **request_args)
    assert r.status_code == status, (what, r.text)
    assert words in r.json()["error"]
    assert client.get("/api/health").status_code == 200
    good = client.post("/api/predict", content=drawing_png(), headers={"Content-Type": "image/png"})
    assert good.status_code == 200 and good.json()["answer"] == "4"


def test_other_errors_are_json_too(client):
    assert client.get("/api/nothing").json() == {"error": "Not Found"}
    r = client.get("/api/predict")
    assert r.status_code == 405 and "error" in r.json()
    assert client.get("/api/model", params={"model": "nope"}).status_code == 400


def test_checkpoint_comes_first_and_pretrained_fill_the_picker():
    from convzoo.serve.models import available_models

    zoo = [m["ref"] for m in shipped_models()]
    others = [name for name in PRETRAINED if name != "fashion"]
    assert [e.key for e in available_models("fashion")] == ["fashion", *others, *zoo]
    assert [e.key for e in available_models(None)] == [*PRETRAINED, *zoo]
    assert [e.key for e in available_models(zoo[0])] == [zoo[0], *PRETRAINED, *zoo[1:]]


def test_demo_cli_errors(capsys):
    from convzoo.cli import main
    from convzoo.serve.server import bind

    busy = bind("127.0.0.1", 0)
    try:
        assert main(["demo", "--port", str(busy.getsockname()[1])]) == 1
        assert "cannot listen" in capsys.readouterr().err
    finally:
        busy.close()
    assert main(["demo", "--checkpoint", "nowhere"]) == 1
    assert "no such checkpoint" in capsys.readouterr().err


def test_bench_demo_runs_a_real_server_and_stops(capsys):
    from convzoo.cli import main

    assert main(["bench", "demo", "--requests", "5", "--warmup", "1"]) == 0
    out = capsys.readouterr().out
    assert "p50 ms" in out and "lenet_wide" in out
    p50 = float(out.splitlines()[2].split()[0])
    assert p50 > 0


# ---- slow, dead and too many clients ---------------------------------------------------------
def _raw(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes `sock` within `within` seconds (a byte trickled every 0.2 s)."""
    deadline = time.monotonic() + within
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            if sock.recv(4096) == b"":
                return True
        except TimeoutError:
            pass
        except OSError:  # reset
            return True
        try:
            sock.sendall(b"X")
        except OSError:
            return True
    return False


@pytest.fixture
def server_log():
    """Records of the server's log (uvicorn's own logger, which does not propagate to the root)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_trickling_clients_are_dropped(client, monkeypatch, server_log):
    """A client that trickles its headers, or its body, a byte at a time is dropped at the request
    deadline (uvicorn's own keep-alive timer stops at the first byte), with one line in the log."""
    monkeypatch.setattr(guarded_protocol(), "read_timeout", 1.0)
    url = str(client.base_url)
    headers = b"POST /api/predict HTTP/1.1\r\nHost: x\r\nX-Slow: "  # never finished
    body = b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n"
    for start in (headers, body):
        with _raw(url) as sock:
            sock.sendall(start)
            assert _closed_by_server(sock, within=8)
    dropped = [r for r in server_log if "dropped a client" in r.getMessage()]
    assert dropped and all(r.exc_info is None for r in dropped)
    assert client.get("/api/health").status_code == 200


def test_a_client_gone_midway_is_one_line_in_the_log(client, server_log):
    with _raw(str(client.base_url)) as sock:
        sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                     b"Content-Length: 5000\r\n\r\n" + b"\x89PNG" * 10)
        time.sleep(0.3)
    deadline = time.monotonic() + 10
    while not any("went away" in r.getMessage() for r in server_log) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [r.getMessage() for r in server_log if "went away" in r.getMessage()]
    assert not [r for r in server_log if r.exc_info is not None or "Traceback" in r.getMessage()]
    assert client.get("/api/health").status_code == 200


def test_connections_beyond_the_limit_are_closed(client, monkeypatch):
    monkeypatch.setattr(guarded_protocol(), "max_connections", 3)
    url = str(client.base_url)
    socks = [_raw(url) for _ in range(6)]
    try:
        time.sleep(0.3)
        closed = sum(_closed_by_server(s, within=1) for s in socks)
        assert closed >= 3  # the client fixture's own connection may hold one of the three
    finally:
        for s in socks:
            s.close()
    time.sleep(0.3)
    assert client.get("/api/health").status_code == 200
