"""`spoken-digits`: the words "zero".."nine" spoken by espeak-ng, as log-mel spectrograms.

This is SYNTHETIC speech: every clip is made by Debian's espeak-ng speech synthesiser, none is a
recording of a person. No recorded spoken-digit corpus ships in a Debian or PyPI package that
convzoo could install (the Free Spoken Digit Dataset and Speech Commands are downloads only), so
the dataset is made offline, in about a minute, by `convzoo data get spoken-digits`.

A voice is an English accent of espeak-ng (ACCENTS: American, British, Scottish, Lancastrian,
West Midlands, Received Pronunciation, Caribbean, New York) with one of its voice variants
(`en-us+m3`: the variant sets the pitch, formants, breathiness...). The test set is HELD-OUT
VOICES: the variants of TEST_VARIANTS never speak in the training set (every accent appears in
both), so the test accuracy is the accuracy on voices the network has never heard.

For every voice and digit, one rendition is synthesised at a random speed (SPEEDS, words per
minute) and pitch (PITCHES, espeak's 0-99 scale); its 22,050 Hz samples are resampled to 16 kHz,
cut to the spoken part (audio.speech_span), and placed at a random offset in a one-second window
(a time shift of up to the whole free space, typically 0.2-0.5 s); then white Gaussian noise at a
random signal-to-noise ratio (SNR_DB, against the speech's power) is added. Each training rendition
gives COPIES["train"] such clips (other shifts, other noise), each test rendition one. The clip
becomes a (1, 40, 101) uint8 log-mel image (audio.py).

Every random number comes from one seeded NumPy generator (a child per clip), and the features
are computed in float64, so the same seed and the same espeak-ng (ESPEAK_VERSION: Debian 12's
1.51) give the same arrays byte for byte: the files are checked against the SHA-256 the catalog
records, as the segmentation scenes are. Another espeak-ng version speaks a little differently;
its files then differ, and `data get` says so.

Files (IDX, as MNIST): train/t10k images (N, 40, 101) uint8 and labels (N,) uint8, in the order
voice, digit, copy.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from . import audio
from .catalog import dataset_spec, register_generator
from .generated import write_checked_files

NAME = "spoken-digits"
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-gb-x-rp", "en-029",
           "en-us-nyc")
# espeak-ng's voice variants (espeak-ng --voices=variant); robots, whispers and effects left out.
TRAIN_VARIANTS = ("m1", "m2", "m4", "m5", "m6", "m7", "m8", "f1", "f3", "f4", "f5", "klatt", "klatt2",
                  "klatt4", "croak", "grandpa", "grandma", "adam", "Alex", "Alicia", "Andy", "antonio",
                  "aunty", "benjamin", "boris", "caleb", "ed", "Gene", "john", "steph")
TEST_VARIANTS = ("m3", "f2", "klatt3", "Annie", "belinda", "david", "Jacky", "linda", "pablo", "quincy")
SPEEDS = (130, 210)  # words per minute, uniform (espeak's default is 175)
PITCHES = (25, 75)  # espeak's 0-99 scale, uniform (default 50)
SNR_DB = (10.0, 40.0)  # uniform: from audible hiss to nearly clean
COPIES = {"train": 2, "test": 1}  # clips per rendition (other shifts and noise)
SEED = 0  # the seed of the files the catalog records
ESPEAK_VERSION = "1.51"  # the espeak-ng the catalog's SHA-256 were made with (Debian 12)
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte")
HOW_TO_GET_ESPEAK = ("spoken-digits is made with espeak-ng, which is not installed: `apt-get install espeak-ng` "
                     "(Debian, Ubuntu), or `sh scripts/ensure-speech.sh`")


@dataclass(frozen=True)
class Plan:
    """What to synthesise: accents, the voices variants of each split, and clips per rendition."""

    accents: tuple[str, ...] = ACCENTS
    train_variants: tuple[str, ...] = TRAIN_VARIANTS
    test_variants: tuple[str, ...] = TEST_VARIANTS
    copies: tuple[tuple[str, int], ...] = tuple(COPIES.items())
    words: tuple[str, ...] = WORDS

    def voices(self, split: str) -> list[str]:
        variants = self.train_variants if split == "train" else self.test_variants
        return [f"{accent}+{variant}" for variant in variants for accent in self.accents]


@dataclass
class Split:
    images: np.ndarray  # (N, 40, 101) uint8 log-mel
    labels: np.ndarray  # (N,) uint8 digit
    voices: list[str]  # (N,) the espeak-ng voice of each clip
    speeds: np.ndarray  # (N,) words per minute
    pitches: np.ndarray  # (N,) espeak pitch

    def __len__(self) -> int:
        return len(self.labels)


def espeak_version() -> str | None:
    """espeak-ng's version ("1.51"), or None when it is not installed."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"text-to-speech:\s*(\S+)", out)
    return match.group(1) if match else "unknown"


def require_espeak() -> str:
    version = espeak_version()
    if version is None:
        raise DataError(HOW_TO_GET_ESPEAK)
    return version


def synthesize(word: str, voice: str, speed: int, pitch: int) -> tuple[np.ndarray, int]:
    """espeak-ng speaking `word`: (float64 samples in [-1, 1], sample rate)."""
    cmd = ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", word]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=60, check=True)
        with wave.open(io.BytesIO(done.stdout)) as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                raise wave.Error(f"{w.getnchannels()} channels of {8 * w.getsampwidth()} bits")
            rate, frames = w.getframerate(), w.readframes(w.getnframes())
    except (OSError, subprocess.SubprocessError, wave.Error, EOFError) as exc:
        raise DataError(f"espeak-ng could not speak {word!r} as {voice} ({type(exc).__name__}: "
                        f"{str(exc)[:80]})") from None
    samples = np.frombuffer(frames, "<i2").astype(np.float64) / 32768
    if not len(samples) or not samples.any():
        raise DataError(f"espeak-ng said nothing for {word!r} as {voice}; is the voice installed?")
    return samples, rate


def make_clip(speech: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One training/test clip from a clean utterance at 16 kHz: shifted at random in the window,
    with white noise at a random SNR; as the (40, 101) uint8 log-mel image."""
    start, stop = audio.speech_span(speech)
    speech = speech[start:stop][:audio.CLIP_SAMPLES]
    offset = int(rng.integers(0, audio.CLIP_SAMPLES - len(speech) + 1))
    clip = audio.place(speech, offset)
    snr = rng.uniform(*SNR_DB)
    power = float(np.mean(speech ** 2))
    clip = clip + rng.standard_normal(len(clip)) * np.sqrt(power / 10 ** (snr / 10))
    return audio.clip_features(clip)[0]


def make_split(plan: Plan, split: str, seed: int = SEED, workers: int | None = None) -> Split:
    """Every clip of one split (`split` is "train" or "test")."""
    voices = plan.voices(split)
    copies = dict(plan.copies)[split]
    k = ("train", "test").index(split)
    rng = np.random.default_rng([seed, k])
    n = len(voices) * len(plan.words)
    speeds = rng.integers(SPEEDS[0], SPEEDS[1] + 1, n)
    pitches = rng.integers(PITCHES[0], PITCHES[1] + 1, n)
    jobs = [(word, voice, int(speeds[i]), int(pitches[i]))
            for i, (voice, word) in enumerate((v, w) for v in voices for w in plan.words)]

    def render(i: int) -> np.ndarray:
        samples, rate = synthesize(*jobs[i])
        speech = audio.resample(samples, rate)
        clip_rng = np.random.default_rng([seed, k, i])  # one child per rendition: any order, same clips
        return np.stack([make_clip(speech, clip_rng) for _ in range(copies)])

    with ThreadPoolExecutor(max_workers=workers or max(2, os.cpu_count() or 1)) as pool:
        images = np.concatenate(list(pool.map(render, range(n))))
    labels = np.repeat(np.tile(np.arange(len(plan.words), dtype=np.uint8), len(voices)), copies)
    return Split(images, labels, [v for v in voices for _ in range(len(plan.words) * copies)],
                 np.repeat(speeds, copies), np.repeat(pitches, copies))


def make_spoken_digits(seed: int = SEED, plan: Plan | None = None, workers: int | None = None) -> dict[str, Split]:
    """{"train": Split, "test": Split}; the test voices' variants never occur in train."""
    plan = plan or Plan()
    if set(plan.train_variants) & set(plan.test_variants):
        raise ValueError("a voice variant in both splits: the test voices would not be held out")
    require_espeak()
    threads = torch.get_num_threads()
    # The worker threads are the parallelism: torch's own threads inside each small STFT only wait for
    # each other (8.6 ms a clip with one, 54 ms with two, on a busy 2-core machine). Same bytes either way.
    torch.set_num_threads(1)
    try:
        return {split: make_split(plan, split, seed, workers) for split in ("train", "test")}
    finally:
        torch.set_num_threads(threads)


def generate(name: str, folder: str | Path) -> dict[str, Path]:
    """Make spoken-digits' four IDX files in `folder`, checked against the catalog before any is
    renamed into place (as scenes.generate: nothing is replaced unless all four match)."""
    spec = dataset_spec(name)
    folder = Path(folder)
    version = require_espeak()
    splits = make_spoken_digits()
    arrays = dict(zip(FILES, (splits["train"].images, splits["train"].labels, splits["test"].images,
                              splits["test"].labels)))
    why = (f"espeak-ng {version} is not the {ESPEAK_VERSION} the catalog's files were made with"
           if version != ESPEAK_VERSION else "the generator changed")
    return write_checked_files(spec, folder, arrays, why)


register_generator("spoken-digits", generate)  # `convzoo data get`, `train --download` (data/catalog.py)
