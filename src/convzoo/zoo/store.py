"""Where the zoo's weights live, and how `zoo:NAME` finds them.

Each trained row has a model card beside its weights: `<name>.json` (the card, which is also the
safetensors config `load_safetensors` reads: format, model spec, data), `<name>.md` (the card for
people) and `<name>.metrics.jsonl` (the shipped run's log). Cards always ship inside the package
(src/convzoo/zoo/weights/); the weights ship there too when they are small (<= SHIP_LIMIT), and
otherwise are listed in manifest.json and downloaded by `convzoo zoo --fetch NAME` into the cache
(`~/.cache/convzoo/zoo`, or `$CONVZOO_DATA/zoo`), checked by SHA-256.

This module imports nothing from the engine: `resolve_checkpoint` (train/checkpoint.py) calls it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ..errors import ConvzooError

PREFIX = "zoo:"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MANIFEST = WEIGHTS_DIR / "manifest.json"
SHIP_LIMIT = 5 * 1024 * 1024  # bytes: weights up to this size ship inside the package
URL_ENV = "CONVZOO_ZOO_URL"  # base URL of the published large weights (overrides the manifest's)
SUFFIX = ".safetensors"


def weights_dir() -> Path:
    """The package's folder of cards and small weights ($CONVZOO_ZOO_DIR for tests and publishing)."""
    env = os.environ.get("CONVZOO_ZOO_DIR")
    return Path(env) if env else WEIGHTS_DIR


def cache_dir() -> Path:
    from ..data.catalog import cache_root

    return cache_root() / "zoo"


def card_path(name: str, folder: Path | None = None) -> Path:
    return (folder or weights_dir()) / f"{name}.json"


def read_card(name: str, folder: Path | None = None) -> dict | None:
    """The model card of row `name`, or None when it has not been trained yet."""
    path = card_path(name, folder)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConvzooError(f"{path}: unreadable model card ({exc})") from None


def read_manifest(folder: Path | None = None) -> dict:
    """{"base_url": ..., "models": {name: {"file", "size", "sha256"}}} (empty when there is none)."""
    path = (folder or weights_dir()) / "manifest.json"
    if not path.is_file():
        return {"base_url": None, "models": {}}
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConvzooError(f"{path}: unreadable zoo manifest ({exc})") from None
    manifest.setdefault("models", {})
    return manifest


def known_names() -> list[str]:
    from .rows import D2L_ROWS, ROWS

    return [*ROWS, *D2L_ROWS]


def zoo_name(ref) -> str | None:
    """`zoo:lenet` -> "lenet"; anything else -> None."""
    text = str(ref)
    return text[len(PREFIX):] if text.startswith(PREFIX) else None


def zoo_weights(name: str) -> Path:
    """The weights file of zoo model `name`: shipped in the package, or fetched into the cache.
    Every way it can be missing is a one-line ConvzooError that says what to do."""
    if name not in known_names():
        raise ConvzooError(f"unknown zoo model {name!r}; known: {', '.join(known_names())}")
    shipped = weights_dir() / f"{name}{SUFFIX}"
    if shipped.is_file():
        return shipped
    entry = read_manifest()["models"].get(name)
    if entry is None:
        raise ConvzooError(f"zoo:{name} has no trained weights yet (train them: convzoo zoo --train {name})")
    fetched = cache_dir() / entry["file"]
    if not fetched.is_file():
        raise ConvzooError(f"zoo:{name} ({entry['size'] / 1e6:.1f} MB) is not downloaded yet: "
                           f"run `convzoo zoo --fetch {name}`")
    return fetched


def base_url(manifest: dict) -> str:
    url = os.environ.get(URL_ENV) or manifest.get("base_url")
    if not url:
        raise ConvzooError(f"no download location for the zoo's large weights: set ${URL_ENV}")
    return url.rstrip("/")


def fetch(name: str, progress: bool = False) -> Path:
    """Download zoo model `name`'s weights into the cache, verified by SHA-256, with its card and
    log beside them (so the cached file loads like a shipped one). Already there: nothing to do."""
    from ..data.download import download, sha256_file

    if name not in known_names():
        raise ConvzooError(f"unknown zoo model {name!r}; known: {', '.join(known_names())}")
    if (weights_dir() / f"{name}{SUFFIX}").is_file():
        return weights_dir() / f"{name}{SUFFIX}"  # ships inside the package: nothing to fetch
    manifest = read_manifest()
    entry = manifest["models"].get(name)
    if entry is None:
        fetchable = ", ".join(manifest["models"]) or "none yet"
        raise ConvzooError(f"zoo:{name} has no published weights to fetch (fetchable: {fetchable})")
    dest = cache_dir() / entry["file"]
    _copy_card(name, dest)
    if dest.is_file() and sha256_file(dest) == entry["sha256"]:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    return download(f"{base_url(manifest)}/{entry['file']}", dest, entry["sha256"], progress=progress)


def _copy_card(name: str, dest: Path) -> None:
    from ..atomic import atomic_path

    dest.parent.mkdir(parents=True, exist_ok=True)
    for suffix in (".json", ".metrics.jsonl"):
        source = weights_dir() / f"{name}{suffix}"
        if source.is_file():
            with atomic_path(dest.with_name(dest.name.removesuffix(SUFFIX) + suffix)) as tmp:
                shutil.copyfile(source, tmp)


def shipped_models() -> list[dict]:
    """Every zoo model whose weights load now (in the package or fetched): name, data, card. The
    demo's model picker lists these, as `zoo:NAME`."""
    found = []
    for name in known_names():
        card = read_card(name)
        if card is None:
            continue
        try:
            path = zoo_weights(name)
        except ConvzooError:
            continue
        found.append({"name": name, "ref": f"{PREFIX}{name}", "data": card["data"]["name"],
                      "path": str(path), "card": card})
    return found
