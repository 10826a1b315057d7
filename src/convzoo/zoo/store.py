"""Where the zoo's weights live, and how `zoo:NAME` finds them.

Each trained row has a model card beside its weights: `<name>.json` (the card, which is also the
safetensors config `load_safetensors` reads: format, model spec, data), `<name>.md` (the card for
people) and `<name>.metrics.jsonl` (the shipped run's log). Cards always ship inside the package
(src/convzoo/zoo/weights/); the weights ship there too when they are small (<= SHIP_LIMIT), and
otherwise are listed in manifest.json and downloaded by `convzoo zoo fetch NAME` into the cache
(`~/.cache/convzoo/zoo`, or `$CONVZOO_DATA/zoo`), checked by SHA-256.

This module imports nothing from the engine: `resolve_checkpoint` (train/checkpoint.py) calls it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ..errors import ConvzooError
from ..train.checkpoint import register_checkpoint_prefix

PREFIX = "zoo:"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MANIFEST = WEIGHTS_DIR / "manifest.json"
SHIP_LIMIT = 5 * 1024 * 1024  # bytes: weights up to this size ship inside the package
URL_ENV = "CONVZOO_ZOO_URL"  # base URL of the published large weights (overrides the manifest's)
SUFFIX = ".safetensors"
MAX_FETCH = 2 << 30  # bytes: the largest weights a manifest may list
FETCH_DEADLINE = 120.0  # seconds, plus the file's size at SLOWEST_BYTES_PER_SECOND: a trickle is cut off
SLOWEST_BYTES_PER_SECOND = 50_000


def weights_dir() -> Path:
    """The package's folder of cards and small weights ($CONVZOO_ZOO_DIR for tests and publishing)."""
    env = os.environ.get("CONVZOO_ZOO_DIR")
    return Path(env) if env else WEIGHTS_DIR


def cache_dir() -> Path:
    from ..data import cache_root

    return cache_root() / "zoo"


def card_path(name: str, folder: Path | None = None) -> Path:
    return (folder or weights_dir()) / f"{name}.json"


def read_card(name: str, folder: Path | None = None) -> dict | None:
    """The model card of row `name`, or None when it has not been trained yet."""
    path = card_path(name, folder)
    if not path.is_file():
        return None
    try:
        card = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConvzooError(f"{path}: unreadable model card ({exc})") from None
    data = card.get("data") if isinstance(card, dict) else None
    if not (isinstance(data, dict) and isinstance(data.get("name"), str) and isinstance(data.get("classes"), list)
            and data["classes"] and all(isinstance(c, str) for c in data["classes"])):
        raise ConvzooError(f"{path}: not a model card (no data name and classes)")
    return card


def read_manifest(folder: Path | None = None) -> dict:
    """{"base_url": ..., "models": {name: {"file", "size", "sha256"}}} (empty when there is none)."""
    path = (folder or weights_dir()) / "manifest.json"
    if not path.is_file():
        return {"base_url": None, "models": {}}
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConvzooError(f"{path}: unreadable zoo manifest ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.setdefault("models", {}), dict):
        raise ConvzooError(f"{path}: not a zoo manifest (an object with a models table)")
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
    entry = manifest_entry(name, read_manifest())
    if entry is None:
        raise ConvzooError(f"zoo:{name} has no trained weights yet (train them: convzoo zoo train {name})")
    fetched = cache_dir() / entry["file"]
    if not fetched.is_file():
        raise ConvzooError(f"zoo:{name} ({entry['size'] / 1e6:.1f} MB) is not downloaded yet: "
                           f"run `convzoo zoo fetch {name}`")
    return fetched


def base_url(manifest: dict) -> str:
    from urllib.parse import urlsplit

    url = os.environ.get(URL_ENV) or manifest.get("base_url")
    if not url:
        raise ConvzooError(f"no download location for the zoo's large weights: set ${URL_ENV}")
    parts = urlsplit(str(url))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        where = f"${URL_ENV}" if os.environ.get(URL_ENV) else "the zoo manifest's base_url"
        raise ConvzooError(f"{where} is {str(url)[:80]!r}, not an http(s) URL")
    return str(url).rstrip("/")


def manifest_entry(name: str, manifest: dict) -> dict | None:
    """Row `name`'s entry of the manifest, checked: a plain file name, a size, a SHA-256."""
    import re

    entry = manifest["models"].get(name) if isinstance(manifest.get("models"), dict) else None
    if entry is None:
        return None
    ok = (isinstance(entry, dict) and isinstance(entry.get("file"), str)
          and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}", entry["file"]) is not None
          and isinstance(entry.get("size"), int) and 0 < entry["size"] <= MAX_FETCH
          and isinstance(entry.get("sha256"), str) and re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]) is not None)
    if not ok:
        raise ConvzooError(f"the zoo manifest's entry for {name} is not a file name, size and sha256")
    return entry


def fetch(name: str, progress: bool = False) -> Path:
    """Download zoo model `name`'s weights into the cache, verified by SHA-256, with its card and
    log beside them (so the cached file loads like a shipped one). Already there: nothing to do.
    At most the manifest's size is accepted, within FETCH_DEADLINE plus the time the file takes
    at SLOWEST_BYTES_PER_SECOND."""
    from ..atomic import clean_stale_temporaries
    from ..data.download import download, sha256_file

    if name not in known_names():
        raise ConvzooError(f"unknown zoo model {name!r}; known: {', '.join(known_names())}")
    if (weights_dir() / f"{name}{SUFFIX}").is_file():
        return weights_dir() / f"{name}{SUFFIX}"  # ships inside the package: nothing to fetch
    manifest = read_manifest()
    entry = manifest_entry(name, manifest)
    if entry is None:
        fetchable = ", ".join(manifest["models"]) or "none yet"
        raise ConvzooError(f"zoo:{name} has no published weights to fetch (fetchable: {fetchable})")
    dest = cache_dir() / entry["file"]
    _copy_card(name, dest)
    if dest.is_file() and sha256_file(dest) == entry["sha256"]:
        return dest
    url = f"{base_url(manifest)}/{entry['file']}"
    clean_stale_temporaries(dest.parent)  # a .part a killed fetch left behind
    return download(url, dest, entry["sha256"], progress=progress, max_bytes=entry["size"],
                    deadline=FETCH_DEADLINE + entry["size"] / SLOWEST_BYTES_PER_SECOND)


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
        try:
            card = read_card(name)
        except ConvzooError:  # a broken card: that row is not offered (`convzoo zoo` says why)
            continue
        if card is None:
            continue
        try:
            path = zoo_weights(name)
        except ConvzooError:
            continue
        found.append({"name": name, "ref": f"{PREFIX}{name}", "data": card["data"]["name"],
                      "path": str(path), "card": card})
    return found


register_checkpoint_prefix(PREFIX, zoo_weights)  # `zoo:NAME` wherever a checkpoint is accepted
