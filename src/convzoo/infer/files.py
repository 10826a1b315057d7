"""Many files in one call: one result per file, so one bad file never costs the others their answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import ConvzooError
from .images import read_image


def card_of(path: Path, code: str | None = None) -> dict:
    """The model card shipped beside a checkpoint (`digits.json` for `digits.pt`), else the card
    `convzoo export --format checkpoint` would write for it."""
    from ..export.card import model_card

    card_path = path.with_suffix(".json")
    if not card_path.is_file():
        return model_card(path, code=code)
    try:
        return json.loads(card_path.read_text())
    except (OSError, ValueError) as exc:
        raise ConvzooError(f"{card_path}: unreadable model card ({exc})") from None


EMPTY_IMAGE = "empty image: nothing to classify (no ink, or one flat colour)"


def prepare_files(paths, prepare, read=read_image,
                  empty: str = EMPTY_IMAGE) -> tuple[list[dict], list[tuple[dict, np.ndarray]]]:
    """`read` and `prepare` each file: one result dict per file, in order ({"image"} for a good one,
    {"image", "error"} for a bad or empty one, `empty` saying why), and (its result, prepared
    input) for the good ones, so one bad file never costs the others their answers. A WAV file's
    result is keyed "image" too, so the CLI reads every answer alike."""
    results, ready = [], []
    for path in paths:
        try:
            prepared = prepare(read(path))
        except ConvzooError as exc:
            results.append(file_error(path, exc))
            continue
        if prepared.empty:
            results.append({"image": str(path), "empty": True, "error": empty})
            continue
        results.append({"image": str(path)})
        ready.append((results[-1], prepared.image))
    return results, ready


def file_error(path, exc: ConvzooError) -> dict:
    """A file's result when it has no answer; the message names the file once."""
    message = str(exc).removeprefix(f"{path}: ")
    return {"image": str(path), "error": message}
