"""The demo keeps answering a well-behaved client: the pixels a segmentation request may ask for and
the requests queued per model are capped (serve/limits.py), and a client holding many connections
(a slowloris from the same address as everyone else) evicts its own, not the others' (server.py)."""

from __future__ import annotations

import io
import socket
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from convzoo.serve import create_app
from convzoo.serve.limits import MAX_SEGMENT_PIXELS, Queues
from convzoo.serve.server import ServerThread


def _png(size) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, 0).save(buffer, "PNG")
    return buffer.getvalue()


def test_segmentation_pixels_are_capped_per_request():
    big = _png((4096, 4096))  # 16 KB of PNG, 16.7 million pixels
    assert len(big) < 100_000
    with TestClient(create_app()) as c:
        r = c.post("/api/predict", params={"model": "scenes"}, content=big, headers={"Content-Type": "image/png"})
        assert r.status_code == 413 and f"{MAX_SEGMENT_PIXELS:,} pixels" in r.json()["error"]
        r = c.post("/api/predict", params={"model": "digits"}, content=big, headers={"Content-Type": "image/png"})
        assert r.status_code == 200  # a classifier reads it at its own size


def test_a_models_queue_is_bounded():
    queues = Queues(waiting=1)
    with queues.slot("scenes"), queues.slot("scenes"):
        with pytest.raises(Exception, match="busy"), queues.slot("scenes"):
            pass
        with queues.slot("digits"):  # another model is not affected
            pass
    with queues.slot("scenes"):  # the slots are given back
        pass


def _open(host: str, port: int):
    try:
        sock = socket.create_connection((host, port), timeout=2)
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # never finished
        sock.setblocking(False)
        return sock
    except OSError:
        return None


def _closed(sock) -> bool:
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _slowloris(url: str, stop: threading.Event, held: list) -> None:
    """70 sockets, each reopened as soon as the server closes it."""
    host, port = url.removeprefix("http://").split(":")
    held.extend(_open(host, int(port)) for _ in range(70))
    while not stop.is_set():
        for i, sock in enumerate(held):
            if sock is None or _closed(sock):
                if sock is not None:
                    sock.close()
                held[i] = _open(host, int(port))
        time.sleep(0.01)


@pytest.mark.slow
def test_a_slowloris_does_not_deny_a_well_behaved_client():
    stop, held = threading.Event(), []
    with ServerThread(create_app()) as url:
        attacker = threading.Thread(target=_slowloris, args=(url, stop, held), daemon=True)
        attacker.start()
        try:
            time.sleep(1.0)  # the attacker holds its sockets
            answered = 0
            # a new connection per request, as browsers behind many tabs and scripts make them
            with httpx.Client(base_url=url, timeout=5, limits=httpx.Limits(max_keepalive_connections=0)) as good:
                for _ in range(20):
                    try:
                        answered += good.get("/api/health").status_code == 200
                    except httpx.HTTPError:
                        pass
                    time.sleep(0.05)
        finally:
            stop.set()
            attacker.join(timeout=10)
            for sock in held:
                if sock is not None:
                    sock.close()
    assert answered == 20
