"""The repository stands on its own: no tracked file names a path outside it (docs/architecture.md).

A fresh clone has neither the machine's shared folder nor its home directories, so a test, a
script, a doc or a model card that points there works only where it was written.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import torch

from convzoo.train.checkpoint import PRETRAINED, PRETRAINED_DIR

ROOT = Path(__file__).resolve().parent.parent
# Spelled in pieces so that this file does not match itself. The lookbehind keeps `~/.cache/...`,
# URLs (`https://host/home/...`) and in-repository paths (`docs/...`) out of it.
OUTSIDE = re.compile("|".join([
    re.escape(".." + "/shared"),
    r"(?<![\w.~/-])/(?:" + "|".join(["wo" + "rk", "ho" + "me", "Us" + "ers", "ro" + "ot", "t" + "mp", "mn" + "t"])
    + r")/",
]))


def tracked_text_files() -> list[Path]:
    try:
        names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True,
                               timeout=60).stdout.split(b"\0")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout (an installed copy has no tracked files to check)")
    files = []
    for name in filter(None, names):
        path = ROOT / name.decode()
        if path.is_file() and b"\0" not in path.read_bytes()[:8192]:  # binary files are checked below
            files.append(path)
    return files


def test_the_pattern_finds_what_it_should():
    """A test that cannot fail is a defect: the pattern catches each kind, and spares the rest."""
    caught = ["see " + ".." + "/shared/DESIGN.md", "data in /" + "work/shared/x", "cached in /" + "root/.cache",
              "`/" + "home/ann/runs`", "out /" + "tmp/cz/run"]
    spared = ["~/.cache/convzoo/tune.json", "/usr/share/datasets/fashion-mnist", "docs/architecture.md",
              "https://example.org/" + "datasets/index.html", "runs/" + "tmp/x"]
    assert all(OUTSIDE.search(text) for text in caught)
    assert not any(OUTSIDE.search(text) for text in spared)


def test_no_tracked_file_names_a_path_outside_the_repository():
    files = tracked_text_files()
    assert any(f.name == "README.md" for f in files) and any(f.suffix == ".py" for f in files)
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}"
             for path in files
             for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
             if OUTSIDE.search(line)]
    assert not found, "paths outside the repository:\n" + "\n".join(found)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


@pytest.mark.parametrize("name", list(PRETRAINED))
def test_shipped_checkpoints_name_no_folder(name):
    """The pretrained payloads record their data by name (the card adds the payload SHA-256), never by
    a folder of the machine they were trained on."""
    payload = torch.load(PRETRAINED_DIR / PRETRAINED[name], weights_only=True)
    strings = [s for key in ("config", "data", "model") for s in _strings(payload.get(key))]
    assert strings and not [s for s in strings if s.startswith("/") or OUTSIDE.search(s)]
    assert payload["config"].get("data_dir") is None
