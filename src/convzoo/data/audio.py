"""Speech features: one-second clips at 16 kHz as log-mel spectrograms, stored like grey images.

The one feature pipeline of convzoo's speech model, shared by the dataset generator
(`spoken-digits`, speech.py) and by `convzoo predict CKPT clip.wav` (infer/audio.py), so a clip
is seen the same way at training and at prediction time:

1. mono float samples in [-1, 1] at SAMPLE_RATE (16 kHz; other rates are resampled with
   `scipy.signal.resample_poly`, a polyphase FIR low-pass);
2. the spoken part is found (`speech_span`: 10 ms frames within SPAN_DB of the loudest frame) and
   placed in a CLIP_SECONDS window (`place`): centred, or at a given offset, zero-padded; a span
   longer than the window keeps its loudest window;
3. `log_mel`: a power spectrogram by `torch.stft` (25 ms Hann window, 10 ms hop, 512-point FFT,
   centred frames: 101 frames a second), N_MELS triangular mel filters (HTK's mel scale
   2595 log10(1 + f / 700), FMIN..FMAX, peak 1, as `librosa.filters.mel(htk=True, norm=None)`), and
   10 log10 of the filter energies, relative to the clip's loudest value;
4. `quantise`: the dB values in [-DB_RANGE, 0] mapped linearly to 0..255 (0 = DB_RANGE dB or more
   below the clip's peak, 255 = the peak): 0.31 dB a step, below the noise of any real recording.

So a clip becomes a (1, 40, 101) uint8 "image": frequency (low at row 0) by time. Everything is
computed in float64, so the bytes of a generated dataset do not depend on the FFT library's
float32 rounding (the catalog records their SHA-256).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

SAMPLE_RATE = 16_000  # Hz
CLIP_SECONDS = 1.0
CLIP_SAMPLES = int(SAMPLE_RATE * CLIP_SECONDS)
N_FFT = 512  # 32 ms: the power of two above the window
WIN_LENGTH = 400  # 25 ms
HOP_LENGTH = 160  # 10 ms
N_MELS = 40
FMIN, FMAX = 20.0, 8000.0  # Hz; FMAX is the Nyquist frequency at 16 kHz
DB_RANGE = 80.0  # dB below the clip's peak that the uint8 scale reaches (librosa's top_db)
SPAN_DB = 30.0  # a 10 ms frame within this many dB of the loudest frame is speech
FRAMES = 1 + CLIP_SAMPLES // HOP_LENGTH  # 101 (centred frames)
SHAPE = (1, N_MELS, FRAMES)  # what one clip becomes


def hz_to_mel(hz):
    """HTK's mel scale: 2595 log10(1 + f / 700) (1000 Hz is 1000 mel)."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, np.float64) / 700.0)


def mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, np.float64) / 2595.0) - 1.0)


@lru_cache(maxsize=8)
def mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE,
                   fmin: float = FMIN, fmax: float = FMAX) -> torch.Tensor:
    """(n_mels, n_fft // 2 + 1) float64 triangles: filter m rises from centre m - 1 to 1 at centre m
    and falls to 0 at centre m + 1, the n_mels + 2 centres equally spaced in mel from fmin to fmax."""
    if not 0 <= fmin < fmax <= sample_rate / 2:
        raise ValueError(f"need 0 <= fmin < fmax <= {sample_rate / 2}, got {fmin}, {fmax}")
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    bins = np.arange(n_fft // 2 + 1) * sample_rate / n_fft  # each FFT bin's frequency
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - lower) / (centre - lower)
    falling = (upper - bins) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return torch.from_numpy(weights)


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """`samples` (float) from `rate` Hz to `target` Hz: scipy's polyphase resampler (anti-aliased)."""
    if rate == target:
        return np.asarray(samples, np.float64)
    from scipy.signal import resample_poly

    g = math.gcd(int(rate), int(target))
    return resample_poly(np.asarray(samples, np.float64), target // g, rate // g)


def frame_db(samples: np.ndarray, hop: int = HOP_LENGTH) -> np.ndarray:
    """The energy of each `hop`-sample frame in dB (a frame of zeros: -300 dB)."""
    n = len(samples) // hop
    if n == 0:
        return np.zeros(0)
    frames = np.asarray(samples[:n * hop], np.float64).reshape(n, hop)
    return 10 * np.log10(np.maximum((frames ** 2).mean(1), 1e-30))


def speech_span(samples: np.ndarray, span_db: float = SPAN_DB) -> tuple[int, int]:
    """(start, stop) sample indices of the part within `span_db` of the loudest 10 ms frame
    (the whole clip when it is silent or shorter than a frame)."""
    db = frame_db(samples)
    if not len(db) or not np.isfinite(db).any() or db.max() <= -290:
        return 0, len(samples)
    loud = np.flatnonzero(db >= db.max() - span_db)
    return int(loud[0]) * HOP_LENGTH, min(len(samples), (int(loud[-1]) + 1) * HOP_LENGTH)


def place(speech: np.ndarray, offset: int | None = None, length: int = CLIP_SAMPLES) -> np.ndarray:
    """`speech` in a zero window of `length` samples, starting at `offset` (None: centred). A
    longer `speech` keeps its loudest `length` samples (by 10 ms frames)."""
    speech = np.asarray(speech, np.float64)
    if len(speech) > length:
        db = frame_db(speech)
        power = 10 ** (db / 10)
        width = length // HOP_LENGTH
        sums = np.convolve(power, np.ones(width), "valid") if len(power) >= width else power[:1]
        start = int(np.argmax(sums)) * HOP_LENGTH
        return speech[start:start + length].copy()
    free = length - len(speech)
    offset = free // 2 if offset is None else int(offset)
    if not 0 <= offset <= free:
        raise ValueError(f"offset {offset} outside 0..{free}")
    out = np.zeros(length, np.float64)
    out[offset:offset + len(speech)] = speech
    return out


def log_mel(clip: np.ndarray) -> torch.Tensor:
    """(N_MELS, FRAMES) float64: 10 log10 of the mel energies of a CLIP_SAMPLES clip, in dB relative
    to its largest value (so 0 at the peak), not yet clipped to DB_RANGE."""
    x = torch.as_tensor(np.asarray(clip, np.float64))
    window = torch.hann_window(WIN_LENGTH, periodic=True, dtype=torch.float64)
    spec = torch.stft(x, N_FFT, hop_length=HOP_LENGTH, win_length=WIN_LENGTH, window=window,
                      center=True, pad_mode="reflect", return_complex=True)
    power = spec.real ** 2 + spec.imag ** 2  # (N_FFT // 2 + 1, frames)
    mel = mel_filterbank() @ power
    db = 10 * torch.log10(torch.clamp(mel, min=1e-20))
    return db - db.max()


def quantise(db: torch.Tensor) -> np.ndarray:
    """dB relative to the peak (<= 0) as uint8: -DB_RANGE or below -> 0, 0 -> 255."""
    scaled = (torch.clamp(db, min=-DB_RANGE) + DB_RANGE) * (255.0 / DB_RANGE)
    return torch.round(scaled).to(torch.uint8).numpy()


def clip_features(clip: np.ndarray) -> np.ndarray:
    """A CLIP_SAMPLES clip as the (1, N_MELS, FRAMES) uint8 image the speech model reads."""
    if len(clip) != CLIP_SAMPLES:
        raise ValueError(f"a clip has {CLIP_SAMPLES} samples, not {len(clip)}")
    return quantise(log_mel(clip))[None]


def features(samples: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Any mono recording (float in [-1, 1], `rate` Hz) as the model's (1, N_MELS, FRAMES) uint8:
    resampled to 16 kHz, its spoken part centred in a one-second window."""
    samples = resample(samples, rate)
    start, stop = speech_span(samples)
    return clip_features(place(samples[start:stop]))
