"""Files named by someone else's results: `convzoo report` embeds, and the demo's /runs serves, only
regular files inside the study's own folder, never through a symbolic link; a results.json of the
wrong shape is one line."""

from __future__ import annotations

import base64
import json
import os
import re

import pytest
from helpers import run_cli as run
from PIL import Image

from convzoo.inside import file_inside, read_inside

SECRET = b"root:x:0:0:secret-line\n"


@pytest.fixture
def study(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(SECRET)
    folder = tmp_path / "study"
    (folder / "sub").mkdir(parents=True)
    Image.new("L", (4, 4), 200).save(folder / "ok.png")
    Image.new("L", (4, 4), 100).save(folder / "sub" / "deep.png")
    os.symlink(outside / "secret.png", folder / "link.png")
    os.symlink(outside, folder / "linkdir")
    (folder / "study.json").write_text("{}")
    figures = ["ok.png", "sub/deep.png", str(outside / "secret.png"), "../outside/secret.png", "link.png",
               "linkdir/secret.png", "sub/../../outside/secret.png", 7, None]
    (folder / "results.json").write_text(json.dumps({"study": "x", "figures": figures}))
    return folder


def test_the_rule(study):
    assert file_inside(study, "ok.png") == study / "ok.png"
    assert file_inside(study, "sub/deep.png") == study / "sub" / "deep.png"
    for bad in ("link.png", "linkdir/secret.png", "../outside/secret.png", "/etc/passwd", "sub", "", 3):
        assert file_inside(study, bad) is None, bad
    assert read_inside(study, "ok.png", 10) is None  # over the cap
    assert read_inside(study, "ok.png", 10_000) == (study / "ok.png").read_bytes()


def test_report_embeds_only_files_inside_the_folder(study, capsys):
    code, _, err = run(capsys, "report", study)
    assert code == 0, err
    page = (study / "report.html").read_text()
    images = [base64.b64decode(b) for b in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]
    assert images == [(study / "ok.png").read_bytes(), (study / "sub" / "deep.png").read_bytes()]
    assert base64.b64encode(SECRET).decode() not in page and "secret-line" not in page
    assert page.count("outside the study") == 7


@pytest.mark.parametrize("results", [[1, 2], {"figures": "ok.png"}, {"table": []}, {"records": [1]},
                                     {"table": {"rows": [5]}}])
def test_report_on_results_of_the_wrong_shape_is_one_line(study, capsys, results):
    (study / "results.json").write_text(json.dumps(results))
    code, _, err = run(capsys, "report", study)
    assert code == 1 and "wrong shape" in err and len(err.strip().splitlines()) == 1


def test_demo_runs_serves_no_symlinked_figure(study):
    from fastapi.testclient import TestClient

    from convzoo.serve import create_app

    (study / "results.md").write_text("| a |\n")
    with TestClient(create_app(runs=study.parent)) as c:
        listing = c.get("/api/runs").json()
        assert listing["studies"][0]["figures"] == ["ok.png"]
        good = c.get("/api/runs/figure", params={"study": "study", "name": "ok.png"})
        assert good.status_code == 200 and good.content == (study / "ok.png").read_bytes()
        bad = c.get("/api/runs/figure", params={"study": "study", "name": "link.png"})
        assert bad.status_code == 400 and SECRET not in bad.content


def test_demo_runs_reads_no_run_file_through_a_link(tmp_path):
    from fastapi.testclient import TestClient

    from convzoo.serve import create_app

    outside = tmp_path / "outside.jsonl"
    outside.write_text('{"epoch": 1, "secret": "token"}\n')
    run_dir = tmp_path / "runs" / "r"
    run_dir.mkdir(parents=True)
    os.symlink(outside, run_dir / "metrics.jsonl")
    os.symlink(outside, run_dir / "config.json")
    with TestClient(create_app(runs=tmp_path / "runs")) as c:
        listing = c.get("/api/runs").json()
        assert listing["runs"][0]["epochs"] == 0
        rows = c.get("/api/runs/metrics", params={"run": "r"}).json()["rows"]
        assert rows == [] and "token" not in c.get("/api/runs").text
