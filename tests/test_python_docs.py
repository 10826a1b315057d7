"""docs/python.md's examples, executed as written, in order, in one namespace (a scratch folder):
the public API documented there works. A block whose first line says it takes minutes is compiled
only, and only those named here may say so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOT_RUN = "# takes minutes: compiled by the tests, not run"
COMPILED_ONLY = 2  # the search; the study and the classical comparison (tests of their own run them)


@pytest.mark.slow  # trains a tiny network and serves the explorer
def test_the_python_page_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "python.md").read_text(), re.DOTALL)
    assert len(blocks) >= 9
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    skipped = 0
    for number, block in enumerate(blocks, 1):
        code = compile(block, f"docs/python.md block {number}", "exec")
        if block.startswith(NOT_RUN):
            skipped += 1
            continue
        exec(code, namespace)  # noqa: S102 - our own docs
    assert skipped == COMPILED_ONLY
    out = capsys.readouterr().out
    assert "[[19. 25.]\n [37. 43.]]" in out  # the reference's worked example, printed
    assert (tmp_path / "runs" / "tinynet" / "checkpoint.pt").is_file()
    assert namespace["graph"]["nodes"][1]["shape"] == [8, 28, 28]  # the explorer's graph of TinyNet
    assert type(namespace["figures"][0]).__name__ == "Figure" and len(namespace["figures"]) == 8
