"""Speech: the log-mel features against independent references, the spoken-digits generator
(espeak-ng's synthetic speech, held-out voices), speech_cnn, training it by the engine, and
`convzoo predict CKPT clip.wav` with its refusals.

espeak-ng is needed (`make test` installs it with scripts/ensure-speech.sh): without it the tests
that speak fail and say so, they are not skipped.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave

import numpy as np
import pytest
import torch
from helpers import run_cli
from torch import nn

from convzoo.cli import main
from convzoo.data import audio, dataset_spec, load_dataset
from convzoo.data import speech as speech_data
from convzoo.data.catalog import verify_files
from convzoo.errors import DataError
from convzoo.infer.audio import read_wav
from convzoo.models import count_parameters, create_model, model_info

TINY = speech_data.Plan(accents=("en-us", "en-gb"), train_variants=("m1", "f1"), test_variants=("m3",),
                        copies=(("train", 2), ("test", 1)), words=("zero", "one", "two"))


def require_espeak() -> None:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed: run `sh scripts/ensure-speech.sh` (or `apt-get install "
                    "espeak-ng`); `make test` does it")


def espeak_wav(word: str, voice: str = "en-us+m3") -> bytes:
    require_espeak()
    return subprocess.run(["espeak-ng", "-v", voice, "--stdout", word], capture_output=True, check=True).stdout


def write_wav(path, samples: np.ndarray, rate: int, channels: int = 1, width: int = 2) -> None:
    scale = float(1 << (8 * width - 1)) - 1
    ints = np.round(np.clip(samples, -1, 1) * scale).astype({2: "<i2", 4: "<i4"}[width])
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(np.repeat(ints, channels).tobytes())


def assert_one_line_error(code, err, *fragments):
    assert code != 0 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err


# ---- the mel filterbank and log-mel features ---------------------------------------------

def test_htk_mel_scale_at_known_points():
    assert audio.hz_to_mel(0) == 0
    assert audio.hz_to_mel(700) == pytest.approx(2595 * np.log10(2))  # 781.17 mel
    assert audio.hz_to_mel(1000) == pytest.approx(1000, abs=0.02)  # the scale's anchor: 1000 Hz ~ 1000 mel
    assert audio.hz_to_mel(8000) == pytest.approx(2840.02, abs=0.01)
    hz = np.array([20.0, 440.0, 3000.0, 7999.0])
    assert np.allclose(audio.mel_to_hz(audio.hz_to_mel(hz)), hz)


def reference_filterbank(n_mels, n_fft, rate, fmin, fmax):
    """Written differently: mel centres by the textbook formula, one filter at a time by
    np.interp over the triangle's three corners."""
    mel_lo, mel_hi = 2595 * np.log10(1 + fmin / 700), 2595 * np.log10(1 + fmax / 700)
    points = [700 * (10 ** ((mel_lo + i * (mel_hi - mel_lo) / (n_mels + 1)) / 2595) - 1)
              for i in range(n_mels + 2)]
    freqs = np.fft.rfftfreq(n_fft, 1 / rate)
    return np.stack([np.interp(freqs, points[m:m + 3], [0, 1, 0], left=0, right=0) for m in range(n_mels)])


@pytest.mark.parametrize("n_mels,n_fft,rate,fmin,fmax", [(40, 512, 16000, 20.0, 8000.0),
                                                          (23, 256, 8000, 0.0, 4000.0),
                                                          (64, 1024, 22050, 50.0, 11025.0)])
def test_filterbank_matches_an_independent_reference(n_mels, n_fft, rate, fmin, fmax):
    bank = audio.mel_filterbank(n_mels, n_fft, rate, fmin, fmax).numpy()
    assert bank.shape == (n_mels, n_fft // 2 + 1)
    assert np.allclose(bank, reference_filterbank(n_mels, n_fft, rate, fmin, fmax), atol=1e-12)


def test_triangles_peak_at_their_centres_and_sum_to_one_between_them():
    bank = audio.mel_filterbank().numpy()
    freqs = np.fft.rfftfreq(audio.N_FFT, 1 / audio.SAMPLE_RATE)
    centres = audio.mel_to_hz(np.linspace(audio.hz_to_mel(audio.FMIN), audio.hz_to_mel(audio.FMAX),
                                          audio.N_MELS + 2))[1:-1]
    assert np.all(np.diff(centres) > 0)
    assert bank.min() >= 0 and bank.max() <= 1
    # each filter's largest weight is at one of the two FFT bins either side of its centre
    assert np.all(np.abs(freqs[bank.argmax(1)] - centres) < audio.SAMPLE_RATE / audio.N_FFT)
    inside = (freqs >= centres[0]) & (freqs <= centres[-1])
    assert np.allclose(bank[:, inside].sum(0), 1.0)  # neighbouring triangles share every bin between them
    assert np.all(bank[:, freqs > audio.FMAX] == 0) and np.all(bank[:, freqs < audio.FMIN] == 0)


@pytest.mark.parametrize("tone", [250.0, 1000.0, 3150.0, 6000.0])
def test_a_pure_tone_lands_in_its_mel_band(tone):
    t = np.arange(audio.CLIP_SAMPLES) / audio.SAMPLE_RATE
    db = audio.log_mel(0.5 * np.sin(2 * np.pi * tone * t))
    centres = audio.mel_to_hz(np.linspace(audio.hz_to_mel(audio.FMIN), audio.hz_to_mel(audio.FMAX),
                                          audio.N_MELS + 2))[1:-1]
    band = int(db[:, 50].argmax())
    assert abs(band - np.abs(centres - tone).argmin()) <= 1
    assert db.shape == (audio.N_MELS, audio.FRAMES) and db.max() == 0


def test_log_mel_matches_numpy_framing_and_rfft():
    """torch.stft's frames against a plain NumPy short-time Fourier transform of the same clip."""
    rng = np.random.default_rng(3)
    clip = rng.standard_normal(audio.CLIP_SAMPLES) * np.linspace(0.01, 1, audio.CLIP_SAMPLES)
    padded = np.pad(clip, audio.N_FFT // 2, mode="reflect")
    n = np.arange(audio.WIN_LENGTH)
    window = np.zeros(audio.N_FFT)
    left = (audio.N_FFT - audio.WIN_LENGTH) // 2
    window[left:left + audio.WIN_LENGTH] = 0.5 - 0.5 * np.cos(2 * np.pi * n / audio.WIN_LENGTH)  # periodic Hann
    frames = np.stack([padded[i * audio.HOP_LENGTH:i * audio.HOP_LENGTH + audio.N_FFT] * window
                       for i in range(audio.FRAMES)], 1)
    power = np.abs(np.fft.rfft(frames, axis=0)) ** 2
    mel = reference_filterbank(audio.N_MELS, audio.N_FFT, audio.SAMPLE_RATE, audio.FMIN, audio.FMAX) @ power
    db = 10 * np.log10(mel)
    assert np.allclose(audio.log_mel(clip).numpy(), db - db.max(), atol=1e-8)


def test_quantisation_is_the_documented_db_range():
    db = torch.tensor([[0.0, -40.0, -80.0, -120.0]], dtype=torch.float64)
    assert audio.quantise(db).tolist() == [[255, 128, 0, 0]]  # -40 dB: 127.5, rounded half to even
    assert audio.DB_RANGE == 80.0


def test_placing_a_clip_centres_or_shifts_it():
    speech = np.ones(1000)
    assert audio.place(speech).nonzero()[0][[0, -1]].tolist() == [7500, 8499]
    assert audio.place(speech, 0).nonzero()[0][0] == 0
    long = np.concatenate([np.full(20_000, 0.01), np.ones(8000), np.full(20_000, 0.01)])
    assert audio.place(long).sum() == pytest.approx(8000 + 0.01 * 8000)  # the loudest second is kept


# ---- the generator ------------------------------------------------------------------------

def test_the_catalog_split_holds_out_voices():
    plan = speech_data.Plan()
    train, test = set(plan.voices("train")), set(plan.voices("test"))
    assert not train & test and not set(plan.train_variants) & set(plan.test_variants)
    assert len(train) == 240 and len(test) == 80
    spec = dataset_spec("spoken-digits")
    assert spec.origin == "generated" and spec.shape == audio.SHAPE and not spec.flippable
    assert "SYNTHETIC" in spec.description and spec.extra["modality"] == "audio"
    with pytest.raises(ValueError, match="held out"):
        speech_data.make_spoken_digits(plan=speech_data.Plan(test_variants=("m1",)))


@pytest.fixture(scope="module")
def tiny():
    require_espeak()
    return speech_data.make_spoken_digits(seed=0, plan=TINY, workers=2)


@pytest.mark.slow
def test_tiny_generation_is_deterministic_and_keeps_test_voices_apart(tiny):
    again = speech_data.make_spoken_digits(seed=0, plan=TINY, workers=1)
    other = speech_data.make_spoken_digits(seed=1, plan=TINY, workers=2)
    for split in ("train", "test"):
        assert np.array_equal(tiny[split].images, again[split].images)
        assert np.array_equal(tiny[split].labels, again[split].labels)
        assert not np.array_equal(tiny[split].images, other[split].images)
    train, test = tiny["train"], tiny["test"]
    assert train.images.shape == (2 * 2 * 3 * 2, 40, 101) and train.images.dtype == np.uint8
    assert test.images.shape == (2 * 1 * 3 * 1, 40, 101)
    assert np.bincount(train.labels).tolist() == [8, 8, 8] and np.bincount(test.labels).tolist() == [2, 2, 2]
    assert not set(train.voices) & set(test.voices)
    assert {v.split("+")[1] for v in test.voices} == {"m3"}
    assert train.speeds.min() >= speech_data.SPEEDS[0] and train.speeds.max() <= speech_data.SPEEDS[1]
    # a rendition's two training copies differ (other shift, other noise), but speak the same word
    assert not np.array_equal(train.images[0], train.images[1])


def test_data_get_without_espeak_says_how_to_get_it(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no espeak-ng on it
    monkeypatch.setenv("CONVZOO_DATA", str(tmp_path / "data"))
    code, _, err = run_cli(capsys, "data", "get", "spoken-digits")
    assert_one_line_error(code, err, "espeak-ng", "scripts/ensure-speech.sh", "apt-get install espeak-ng")
    assert not (tmp_path / "data" / "spoken-digits").exists() or not any((tmp_path / "data" / "spoken-digits").iterdir())


# ---- the whole dataset, the model, the engine ------------------------------------------------

@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """`convzoo data get spoken-digits` once (about a minute and a half), into a temporary $CONVZOO_DATA."""
    require_espeak()
    root = tmp_path_factory.mktemp("speech-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CONVZOO_DATA", str(root))
        mp.setenv("HOME", str(tmp_path_factory.mktemp("speech-home")))  # module fixtures precede the autouse one
        assert main(["data", "get", "spoken-digits"]) == 0
    return root


@pytest.mark.slow  # needs the full generated dataset (about 1.5 min, once per module)
def test_data_get_writes_the_recorded_files(generated, monkeypatch):
    folder = generated / "spoken-digits"
    spec = dataset_spec("spoken-digits")
    assert sorted(p.name for p in folder.iterdir()) == sorted(f.name for f in spec.files)  # no temporaries
    verify_files(spec, {p.name: p for p in folder.iterdir()})
    monkeypatch.setenv("CONVZOO_DATA", str(generated))
    bundle = load_dataset("spoken-digits")
    assert (len(bundle.train), len(bundle.test)) == (4800, 800)
    assert bundle.train.images.shape[1:] == (1, 40, 101)
    images = bundle.train.images.float() / 255
    assert images.mean().item() == pytest.approx(spec.mean[0], abs=1e-3)
    assert images.std().item() == pytest.approx(spec.std[0], abs=1e-3)


def test_speech_cnn_is_the_lecture_shape():
    info = model_info("speech_cnn")
    model = create_model("speech_cnn")
    assert count_parameters(model) == info.params == 120_378 and info.input_size == audio.SHAPE
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    pools = [m for m in model.modules() if isinstance(m, nn.MaxPool2d)]
    assert len(convs) == 6 and all(c.kernel_size == (3, 5) for c in convs)
    assert len(pools) == 2 and all(tuple(p.kernel_size) == (3, 1) for p in pools)
    assert model.eval()(torch.zeros(2, *audio.SHAPE)).shape == (2, 10)


@pytest.fixture(scope="module")
def speech_run(generated, tmp_path_factory):
    """The speech recipe, shortened (1 epoch on 600 clips), through `convzoo train`."""
    out = tmp_path_factory.mktemp("speech-runs") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CONVZOO_DATA", str(generated))
        mp.setenv("HOME", str(tmp_path_factory.mktemp("speech-home")))
        code = main(["train", "--recipe", "speech", "--epochs", "1", "--train-size", "600", "--precision", "fp32",
                     "--no-channels-last", "--threads", "1", "--no-progress", "--out", str(out)])
    assert code == 0
    return out


@pytest.mark.slow  # needs the full generated dataset (about 1.5 min, once per module)
def test_the_engine_trains_and_evaluates_it(speech_run, generated, capsys, monkeypatch):
    import json

    result = json.loads((speech_run / "eval.json").read_text())
    assert 0 <= result["accuracy"] <= 1 and np.array(result["confusion"]).shape == (10, 10)
    assert np.array(result["confusion"]).sum() == 800  # every held-out-voice clip
    config = json.loads((speech_run / "config.json").read_text())
    assert config["config"]["model"] == "speech_cnn" and config["config"]["data"] == "spoken-digits"
    monkeypatch.setenv("CONVZOO_DATA", str(generated))
    code, out, err = run_cli(capsys, "eval", speech_run)
    assert code == 0 and "confusion matrix" in out and "spoken-digits" in out, err


@pytest.fixture
def clips(tmp_path):
    """WAV files a user might give: espeak-ng's own (22,050 Hz, a streamed header), a 44.1 kHz stereo
    copy, and bad ones."""
    raw = espeak_wav("seven", "en-gb+m3")
    (tmp_path / "seven.wav").write_bytes(raw)
    with wave.open(io.BytesIO(raw)) as w:
        rate, samples = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), "<i2") / 32768
    write_wav(tmp_path / "seven-44k-stereo.wav", audio.resample(samples, rate, 44_100), 44_100, channels=2,
              width=4)
    write_wav(tmp_path / "long.wav", np.full(16_000 * 11, 0.1), 16_000)
    write_wav(tmp_path / "rate8k.wav", audio.resample(samples, rate, 8000), 8000)
    write_wav(tmp_path / "silent.wav", np.zeros(16_000), 16_000)
    (tmp_path / "notes.wav").write_text("not a sound at all\n")
    (tmp_path / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    return tmp_path


@pytest.mark.slow  # needs the full generated dataset (about 1.5 min, once per module)
def test_predict_classifies_wav_files(speech_run, clips, capsys):
    before = sorted(p.name for p in clips.iterdir())
    code, out, err = run_cli(capsys, "predict", speech_run, clips / "seven.wav", clips / "seven-44k-stereo.wav")
    assert code == 0 and not err, err
    lines = out.strip().splitlines()
    assert len(lines) == 2 and all(line.split(": ")[1].split()[0] in "0123456789" for line in lines)
    assert lines[0].split(": ")[1].split()[0] == lines[1].split(": ")[1].split()[0]  # resampled: same answer
    assert sorted(p.name for p in clips.iterdir()) == before  # nothing written


def test_the_features_of_a_wav_are_the_datasets(clips):
    samples, rate = read_wav(clips / "seven.wav")
    assert rate == 22_050
    raw = (clips / "seven.wav").read_bytes()
    with wave.open(io.BytesIO(raw)) as w:
        expected = np.frombuffer(w.readframes(w.getnframes()), "<i2") / 32768
    assert np.array_equal(samples, expected)
    assert audio.features(samples, rate).shape == audio.SHAPE


@pytest.mark.parametrize("name,fragments", [
    ("notes.wav", ["not a WAV file"]),
    ("picture.png", ["not a WAV file"]),
    ("long.wav", ["11.0 s long", "the most convzoo reads is 10 s"]),
    ("rate8k.wav", ["sample rate 8,000 Hz", "16,000"]),
    ("silent.wav", ["silent clip"]),
    ("missing.wav", ["no such file"]),
])
@pytest.mark.slow  # needs the full generated dataset (about 1.5 min, once per module)
def test_bad_input_gets_one_line_and_no_output(speech_run, clips, capsys, name, fragments):
    before = sorted(p.name for p in clips.iterdir())
    code, out, err = run_cli(capsys, "predict", speech_run, clips / name)
    assert_one_line_error(code, err, str(clips / name), *fragments)
    assert out == ""
    assert sorted(p.name for p in clips.iterdir()) == before


@pytest.mark.slow  # needs the full generated dataset (about 1.5 min, once per module)
def test_one_bad_clip_costs_the_others_nothing(speech_run, clips, capsys):
    code, out, err = run_cli(capsys, "predict", speech_run, clips / "long.wav", clips / "seven.wav")
    assert code == 1 and len(out.strip().splitlines()) == 1 and "seven.wav" in out
    assert_one_line_error(code, err, "long.wav")


@pytest.mark.slow  # needs the full generated dataset (about 1.5 min, once per module)
def test_a_float_wav_is_refused_in_one_line(speech_run, tmp_path, capsys):
    path = tmp_path / "float.wav"
    data = np.zeros(1600, "<f4").tobytes()
    header = (b"RIFF" + (36 + len(data)).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
              + (3).to_bytes(2, "little") + (1).to_bytes(2, "little") + (16000).to_bytes(4, "little")
              + (64000).to_bytes(4, "little") + (4).to_bytes(2, "little") + (32).to_bytes(2, "little")
              + b"data" + len(data).to_bytes(4, "little"))
    path.write_bytes(header + data)
    code, _, err = run_cli(capsys, "predict", speech_run, path)
    assert_one_line_error(code, err, "not a PCM WAV file")


def test_an_image_model_still_reads_images_and_refuses_wav(tiny_run, clips, capsys):
    code, _, err = run_cli(capsys, "predict", tiny_run, clips / "seven.wav")
    assert_one_line_error(code, err, "not a PNG or JPEG")


def test_loading_without_the_dataset_says_how_to_make_it():
    with pytest.raises(DataError, match="convzoo data get spoken-digits"):
        load_dataset("spoken-digits")
