"""Every resource a flag or a file controls is bounded, and checked before any data loads: study
--jobs/--seeds/--threads, the search grid's size and each of its values, epochs; `zoo --fetch` takes
at most the manifest's size within a deadline and leaves no .part behind."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from helpers import run_cli as run

from convzoo.zoo import store


@pytest.mark.parametrize("flag,value,exit_code", [("--jobs", "100000", 2), ("--seeds", "1000000", 1),
                                                  ("--threads", "99999", 1), ("--jobs", "0", 2)])
def test_study_flags_are_bounded(capsys, tmp_path, flag, value, exit_code):
    code, _, err = run(capsys, "study", "run", "kernel", "--quick", flag, value, "--out", tmp_path / "s")
    assert code == exit_code and flag in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("grid,message", [
    ([f"lr={','.join(str(i / 1000) for i in range(1, 201))}"], "at most 100 per key"),
    ([f"lr={','.join(str(i / 100) for i in range(1, 51))}", f"batch_size={','.join(map(str, range(1, 51)))}"],
     "2,500 cells"),
    (["epochs=1,1000000"], "<= 10000"),
    (["hidden=120,84|-5,3"], "hidden=-5,3: lenet cannot be built"),
])
def test_search_grids_are_bounded_and_checked_before_data_loads(capsys, tmp_path, monkeypatch, grid, message):
    from convzoo.selection import crossval

    def no_data(*args, **kwargs):
        raise AssertionError("the data loaded before the grid was checked")

    monkeypatch.setattr(crossval, "_load", no_data)
    args = [a for item in grid for a in ("--grid", item)]
    code, _, err = run(capsys, "search", "lenet", *args, "--out", tmp_path / "s")
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()


class _Hostile(BaseHTTPRequestHandler):
    """/big: 200x the promised size with no Content-Length; /slow: a byte every 0.2 s."""

    body = b""

    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        try:
            if self.path.endswith("/big/resnet56.safetensors"):
                for _ in range(200):
                    self.wfile.write(self.body)
            else:
                for b in self.body:
                    self.wfile.write(bytes([b]))
                    self.wfile.flush()
                    time.sleep(0.2)
        except OSError:
            pass  # the client hung up: what is tested

    def log_message(self, *args):
        pass


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    folder = tmp_path / "zoo"
    folder.mkdir()
    monkeypatch.setenv("CONVZOO_ZOO_DIR", str(folder))
    monkeypatch.setenv("CONVZOO_DATA", str(tmp_path / "cache"))
    body = b"weights!" * 100
    handler = type("H", (_Hostile,), {"body": body})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    (folder / "manifest.json").write_text(json.dumps({"base_url": None, "models": {"resnet56": {
        "file": "resnet56.safetensors", "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}}}))
    yield f"http://127.0.0.1:{httpd.server_address[1]}", folder
    httpd.shutdown()
    httpd.server_close()


def _no_leftovers():
    cache = store.cache_dir()
    return not (cache / "resnet56.safetensors").exists() and not [p for p in cache.iterdir() if p.name.startswith(".")]


def test_fetch_stops_at_the_manifests_size(hostile, monkeypatch, capsys):
    monkeypatch.setenv(store.URL_ENV, f"{hostile[0]}/big")
    code, _, err = run(capsys, "zoo", "fetch", "resnet56")
    assert code == 1 and "more than the 800 bytes expected" in err and len(err.strip().splitlines()) == 1
    assert _no_leftovers()


def test_fetch_has_an_overall_deadline(hostile, monkeypatch, capsys):
    monkeypatch.setenv(store.URL_ENV, f"{hostile[0]}/slow")
    monkeypatch.setattr(store, "FETCH_DEADLINE", 1.0)
    monkeypatch.setattr(store, "SLOWEST_BYTES_PER_SECOND", 10**9)
    started = time.monotonic()
    code, _, err = run(capsys, "zoo", "fetch", "resnet56")
    assert code == 1 and "too slow" in err and time.monotonic() - started < 60
    assert _no_leftovers()


def test_a_killed_fetchs_part_file_is_removed(hostile, monkeypatch, capsys):
    from convzoo.atomic import _HOST

    cache = store.cache_dir()
    cache.mkdir(parents=True)
    stale = cache / f".resnet56.safetensors.{_HOST}.{2**22 + 12345}.abc.part"  # above pid_max: not running
    stale.write_bytes(b"half")
    monkeypatch.setenv(store.URL_ENV, "http://127.0.0.1:9/zoo")  # nothing listens
    assert run(capsys, "zoo", "fetch", "resnet56")[0] == 1
    assert not stale.exists() and _no_leftovers()


@pytest.mark.parametrize("url", ["not a url", "ftp://x/y", "file:///etc"])
def test_a_zoo_url_that_is_not_http_is_one_line(hostile, monkeypatch, capsys, url):
    monkeypatch.setenv(store.URL_ENV, url)
    code, _, err = run(capsys, "zoo", "fetch", "resnet56")
    assert code == 1 and "not an http(s) URL" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("entry", [{"file": "../../evil", "size": 8, "sha256": "0" * 64},
                                   {"file": "x.safetensors", "size": -1, "sha256": "0" * 64}, "text"])
def test_a_hostile_manifest_entry_is_one_line(hostile, monkeypatch, capsys, entry):
    (hostile[1] / "manifest.json").write_text(json.dumps({"models": {"resnet56": entry}}))
    monkeypatch.setenv(store.URL_ENV, f"{hostile[0]}/big")
    code, _, err = run(capsys, "zoo", "fetch", "resnet56")
    assert code == 1 and "not a file name, size and sha256" in err
    assert not os.path.exists(store.cache_dir().parent / "evil")
