"""`study --jobs` and `search --jobs` children die with their parent: a SIGTERM (or SIGKILL) to the
parent leaves no shard training on (convzoo.children.run_children, which experiments.processes uses)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHILD = "import os, sys, time; open(os.path.join(sys.argv[1], str(os.getpid())), 'w').close(); time.sleep(120)"
PARENT = ("import sys; from convzoo.children import run_children; "
          "run_children([[sys.executable, '-c', sys.argv[1], sys.argv[2]]] * 3)")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in state  # a zombie waiting for a reaper has stopped


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_children_die_with_their_parent(tmp_path, sig):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD, str(tmp_path)], env=env)
    deadline = time.monotonic() + 60
    while len(list(tmp_path.iterdir())) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    pids = [int(p.name) for p in tmp_path.iterdir()]
    try:
        assert len(pids) == 3 and all(_alive(pid) for pid in pids)
        parent.send_signal(sig)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in pids)
    finally:  # a failing run leaves nothing behind either
        for pid in [p for p in pids if _alive(p)] + ([parent.pid] if parent.poll() is None else []):
            os.kill(pid, signal.SIGKILL)
