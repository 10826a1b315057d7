"""The user's code, imported only when the user names it (a spec on the command line, `--code`):
`FILE.py` from its path, `package.module` from the working directory and the installed packages.
Mistakes in it (a syntax error, an exception while it runs) are one line naming the file and line.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
import traceback
from pathlib import Path

import torch

from ..errors import ConvzooError

IDENTIFIER = r"[A-Za-z_]\w*"
MODULE = re.compile(rf"{IDENTIFIER}(\.{IDENTIFIER})*")


def _on_cpu():
    """Module-level tensors of the user's code go to the CPU, whatever device a caller builds on
    (summary builds on the meta device, and a module imported there would stay there)."""
    return torch.device("cpu")


def import_code(code: str):
    """The user's module from `FILE.py` or `package.module` (imported: the user asked for it)."""
    code = str(code)
    if code.endswith(".py") or "/" in code or "\\" in code:
        return _import_file(Path(code))
    if not MODULE.fullmatch(code):
        raise ConvzooError(f"{code}: expected FILE.py or package.module")
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # `convzoo` the script does not see the working directory
    try:
        with _on_cpu():
            return importlib.import_module(code)
    except ModuleNotFoundError as exc:
        if exc.name and code.startswith(exc.name):
            raise ConvzooError(f"{code}: no such module (nor a FILE.py here)") from None
        raise import_failure(code, exc) from None
    except Exception as exc:  # noqa: BLE001 - the user's module failing to import is the user's mistake
        raise import_failure(code, exc) from None


def _import_file(path: Path):
    shown = str(path)
    if not path.is_file():
        raise ConvzooError(f"{path}: no such file")
    path = path.resolve()
    name = path.stem if re.fullmatch(IDENTIFIER, path.stem) else "user_model"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__file__", None) == str(path):
        if getattr(loaded, "_convzoo_sha256", digest) == digest:
            return loaded  # imported already (by us: unchanged since; a notebook edits and re-runs)
    elif loaded is not None:  # another module has that name: keep both importable
        name = f"{name}_{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))  # the user's file may import its neighbours
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    module._convzoo_sha256 = digest  # the source that ran, whatever the file holds later
    sys.modules[name] = module  # classes defined there pickle and deep-copy like any other
    try:
        with _on_cpu():
            module_spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        file = shown if exc.filename in (None, str(path)) else exc.filename  # or a file it imports
        raise ConvzooError(f"{file}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:  # noqa: BLE001 - the user's file failing to run is the user's mistake
        sys.modules.pop(name, None)
        raise import_failure(shown, exc) from None
    return module


def import_failure(code: str, exc: Exception, doing: str = "importing it") -> ConvzooError:
    """One line: which line of the user's code raised what."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "importlib" not in f.filename and f.filename != __file__]
    where = f"{frames[-1].filename}:{frames[-1].lineno}: " if frames else ""
    first = (str(exc).strip().splitlines() or [""])[0][:160]
    return ConvzooError(f"{code}: {doing} failed: {where}{type(exc).__name__}: {first}")


def source_sha256(module) -> str | None:
    """The SHA-256 of the file a module came from, as it was imported (None without a file)."""
    if getattr(module, "_convzoo_sha256", None):
        return module._convzoo_sha256
    file = getattr(module, "__file__", None)
    try:
        return hashlib.sha256(Path(file).read_bytes()).hexdigest() if file else None
    except OSError:
        return None


def users_file(path: Path) -> bool:
    """Not the standard library's, an installed package's, nor convzoo's own."""
    import sysconfig

    path = path.resolve()
    installed = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots = [Path(p).resolve() for p in installed] + [Path(__file__).resolve().parents[1]]
    return not any(path.is_relative_to(root) for root in roots)
