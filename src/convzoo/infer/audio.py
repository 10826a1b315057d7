"""Reading user sound files safely: uncompressed PCM WAV only, its header checked before any sample
is read, then turned into the speech model's log-mel input (`convzoo.data.audio.features`).

Refused, each with a one-line error that names the file: anything that is not a WAV file (an MP3,
a PNG...), a compressed or floating-point WAV (Python's `wave` reads integer PCM only), more than
two channels (stereo is averaged to mono), a sample rate outside MIN_RATE..MAX_RATE (16 kHz and
above is resampled to 16 kHz; below it the 4-8 kHz band the model was trained on is missing), a
clip longer than MAX_SECONDS, and a clip with no samples. A silent clip gets no answer ("empty").
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from ..data import audio
from ..data.preprocess import Prepared
from ..errors import ConvzooError
from .files import prepare_files

MAX_SECONDS = 10.0
MIN_RATE, MAX_RATE = audio.SAMPLE_RATE, 192_000  # Hz
SILENT = "silent clip: nothing to classify"


class UnsupportedAudio(ConvzooError):
    """Not a PCM WAV file convzoo reads."""


def read_wav(path) -> tuple[np.ndarray, int]:
    """(mono float64 samples in [-1, 1], sample rate) of a PCM WAV file, or a one-line ConvzooError."""
    name = str(path)
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate, frames = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            if channels > 2:
                raise UnsupportedAudio(f"{name}: {channels} channels; convzoo reads mono or stereo WAV files")
            if width not in (1, 2, 3, 4):
                raise UnsupportedAudio(f"{name}: {8 * width}-bit samples; convzoo reads 8, 16, 24 or 32-bit PCM")
            if not MIN_RATE <= rate <= MAX_RATE:
                raise UnsupportedAudio(f"{name}: sample rate {rate:,} Hz; convzoo reads {MIN_RATE:,}-{MAX_RATE:,} Hz "
                                       f"(resampled to {audio.SAMPLE_RATE:,}): record or convert it at "
                                       f"{audio.SAMPLE_RATE:,} Hz or more")
            # The header's length is not to be trusted (a streamed WAV, as `espeak-ng --stdout` writes,
            # says 2^31 - 1 frames): read at most one frame past the limit, and count what came.
            limit = int(MAX_SECONDS * rate)
            data = w.readframes(limit + 1)
            if len(data) > limit * channels * width:
                known = frames * channels * width <= Path(path).stat().st_size
                length = f"{frames / rate:.1f} s long" if known else f"longer than {MAX_SECONDS:g} s"
                raise UnsupportedAudio(f"{name}: {length}; the most convzoo reads is {MAX_SECONDS:g} s "
                                       "(a spoken digit is under 1 s)")
    except FileNotFoundError:
        raise ConvzooError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ConvzooError(f"{name}: a folder, not a WAV file") from None
    except (wave.Error, EOFError) as exc:
        why = str(exc) or type(exc).__name__
        if "RIFF" in why or "WAVE" in why or isinstance(exc, EOFError):
            raise UnsupportedAudio(f"{name}: not a WAV file") from None
        raise UnsupportedAudio(f"{name}: not a PCM WAV file ({why[:80]}); convzoo reads uncompressed "
                               "integer PCM") from None
    except OSError as exc:
        raise ConvzooError(f"{name}: cannot read ({exc.strerror or exc})") from None
    samples = _decode(data, width)
    samples = samples[:len(samples) // channels * channels].reshape(-1, channels).mean(1)
    if not len(samples):
        raise ConvzooError(f"{name}: no samples")
    return samples, rate


def _decode(data: bytes, width: int) -> np.ndarray:
    """Little-endian PCM as float64 in [-1, 1] (8-bit WAV is unsigned, the rest signed)."""
    if width == 1:
        return (np.frombuffer(data, np.uint8).astype(np.float64) - 128) / 128
    if width == 3:
        raw = np.frombuffer(data[:len(data) // 3 * 3], np.uint8).reshape(-1, 3).astype(np.int32)
        values = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        values = np.where(values >= 1 << 23, values - (1 << 24), values)
        return values / float(1 << 23)
    dtype = {2: "<i2", 4: "<i4"}[width]
    return np.frombuffer(data[:len(data) // width * width], dtype).astype(np.float64) / float(1 << (8 * width - 1))


def prepare_wav(path) -> Prepared:
    """A WAV file as the speech model's (1, 40, 101) uint8 log-mel image; `empty` when it is silent."""
    samples, rate = read_wav(path)
    if not np.any(samples):
        return Prepared(np.zeros(audio.SHAPE, np.uint8), inverted=False, empty=True)
    return Prepared(audio.features(samples, rate), inverted=False, empty=False)


def prepare_wav_files(paths) -> tuple[list[dict], list[tuple[dict, np.ndarray]]]:
    """As infer.files.prepare_files, for WAV files: (one result per file, (result, features) of the good ones)."""
    return prepare_files(paths, prepare_wav, read=Path, empty=SILENT)
