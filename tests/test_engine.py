"""The open engine: a user's own nn.Module, auxiliary heads, the segmentation task, the lectures'
knobs from the command line, --train-size, and what --resume accepts."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import run_cli
from torch import nn

from convzoo.data import ArrayDataset, Augment, BatchLoader, DataBundle, load_dataset
from convzoo.data.sampling import balanced_subset
from convzoo.errors import ConvzooError
from convzoo.train import TrainConfig, Trainer, model_from_checkpoint
from convzoo.train.tasks import CLASSIFICATION, Task

ROOT = Path(__file__).resolve().parents[1]


# ---- a user's own model ------------------------------------------------------------------------

@pytest.mark.slow
def test_the_docs_custom_model_example_runs(tmp_path, monkeypatch):
    """docs/training.md's worked example, executed as written (in a scratch directory)."""
    text = (ROOT / "docs" / "training.md").read_text()
    example = next(block for block in re.findall(r"```python\n(.*?)```", text, re.DOTALL) if "class TinyNet" in block)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(example, "docs/training.md", "exec"), namespace)  # noqa: S102 - our own docs
    run = tmp_path / "runs" / "tinynet"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3]  # trained 2, resumed to 3
    assert rows[-1]["tta_test_acc"] > 0.85  # real digits: a working net is far above chance (0.1)
    payload = torch.load(run / "checkpoint.pt", weights_only=True)
    assert payload["model"]["custom"] and payload["model"]["class"].endswith("TinyNet")
    assert {"config.json", "curves.png", "eval.json"} <= {p.name for p in run.iterdir()}


@pytest.mark.slow
def test_a_custom_checkpoint_says_how_to_load_it(tmp_path, tiny_data_dir, capsys):
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    config = TrainConfig(data_dir=str(tiny_data_dir), epochs=1, out=str(tmp_path / "mine"), progress=False,
                         precision="fp32")
    Trainer(config, model=model).fit()
    code, _, err = run_cli(capsys, "eval", tmp_path / "mine")
    assert code == 1 and "your own model" in err and "--code FILE.py:Class" in err
    assert len(err.strip().splitlines()) == 1  # nn.Sequential is torch's: no file of the user's to name
    with pytest.raises(ConvzooError, match="add --code"):
        Trainer.resume(tmp_path / "mine")
    loaded, _ = model_from_checkpoint(tmp_path / "mine", model=nn.Sequential(nn.Flatten(), nn.Linear(784, 10)))
    assert torch.equal(loaded[1].weight, model[1].weight.detach().cpu())


def test_construction_is_cheap_and_prepare_is_explicit(tiny_data_dir):
    trainer = Trainer(TrainConfig(data_dir=str(tiny_data_dir), progress=False))
    assert trainer.model is None and trainer.data is None  # nothing loaded or built yet
    trainer.prepare()
    assert trainer.model is not None and len(trainer.data.train) == 600 and trainer.setup is not None


# ---- the per-step hook -------------------------------------------------------------------------

@pytest.mark.slow
def test_a_step_hook_is_called_every_k_steps_and_changes_nothing(tiny_data_dir, tmp_path):
    """A hook that evaluates and draws random numbers mid-epoch leaves the run as it was: the same
    weights and the same metrics (dropout and crop+flip use the random streams it might disturb)."""
    common = {"model": "lenet", "model_kwargs": {"dropout": 0.3, "activation": "relu"}, "data_dir": str(tiny_data_dir),
              "epochs": 2, "batch_size": 64, "lr": 0.05, "augment": "crop+flip", "precision": "fp32",
              "channels_last": False, "progress": False, "seed": 3, "threads": 1}
    plain = Trainer(TrainConfig(**common, out=str(tmp_path / "plain")))
    plain.fit()
    seen = []

    def hook(trainer):
        seen.append((trainer.step, trainer.epoch, trainer.evaluate().accuracy))
        torch.rand(100)  # a hook's random numbers come from a forked stream

    hooked = Trainer(TrainConfig(**common, out=str(tmp_path / "hooked")))
    hooked.fit(on_step=hook, on_step_every=4)
    assert [step for step, _, _ in seen] == list(range(4, 2 * hooked.steps_per_epoch + 1, 4))
    assert {epoch for _, epoch, _ in seen} == {0, 1} and all(0 <= acc <= 1 for _, _, acc in seen)
    for name, tensor in plain.model.state_dict().items():
        assert torch.equal(tensor, hooked.model.state_dict()[name]), name

    def metrics(run):
        return [{k: v for k, v in r.items() if k not in ("seconds", "examples_per_sec")} for r in run.history]

    assert metrics(plain) == metrics(hooked)
    with pytest.raises(ValueError, match="on_step_every"):
        hooked.fit(on_step=hook, on_step_every=0)


# ---- auxiliary heads ---------------------------------------------------------------------------

def test_auxiliary_losses_are_weighted_in_training_only():
    torch.manual_seed(0)
    main_logits, aux = torch.randn(4, 3), torch.randn(4, 3)
    y = torch.tensor([0, 1, 2, 0])
    ce = nn.functional.cross_entropy
    total, main_loss, logits = Task("classification", aux_weight=0.3).loss_sum((main_logits, aux, aux), y)
    assert torch.equal(logits, main_logits)
    assert main_loss.item() == pytest.approx(4 * ce(main_logits, y).item(), rel=1e-6)
    assert total.item() == pytest.approx(4 * (ce(main_logits, y) + 0.6 * ce(aux, y)).item(), rel=1e-6)
    total, _, _ = CLASSIFICATION.loss_sum(main_logits, y)  # eval mode: a plain tensor, no aux term
    assert total.item() == pytest.approx(main_loss.item())


class TwoHeads(nn.Module):
    """(main, aux) in training mode, main alone in eval mode, like GoogLeNet."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU())
        self.main, self.aux = nn.Linear(32, 10), nn.Linear(32, 10)

    def forward(self, x):
        h = self.body(x)
        return (self.main(h), self.aux(h)) if self.training else self.main(h)


@pytest.mark.slow
def test_an_auxiliary_head_is_trained(tiny_data_dir, tmp_path):
    model = TwoHeads()
    before = model.aux.weight.detach().clone()
    config = TrainConfig(data_dir=str(tiny_data_dir), epochs=1, out=str(tmp_path / "aux"), progress=False,
                         precision="fp32", lr=0.05, weight_decay=0.0)  # decay alone would move the head
    Trainer(config, model=model).fit()
    assert not torch.equal(model.aux.weight.detach().cpu(), before)  # its loss reached it
    no_aux = TwoHeads()
    before = no_aux.aux.weight.detach().clone()
    Trainer(TrainConfig(**{**config.to_dict(), "out": str(tmp_path / "off"), "aux_weight": 0.0}), model=no_aux).fit()
    assert torch.equal(no_aux.aux.weight.detach().cpu(), before)  # weight 0: the head gets no gradient


@pytest.mark.slow
def test_googlenet_trains_with_its_auxiliary_heads(tiny_data_dir, tmp_path):
    """The registry's train_options switch GoogLeNet's aux heads on; the checkpoint keeps them.
    (In process on 16 + 8 images, one step: at 28x28 GoogLeNet is 1.2 GMAC an image.)"""
    bundle = load_dataset("fashion-mnist", tiny_data_dir)
    bundle.train, bundle.test = balanced_subset(bundle.train, 16, 0), balanced_subset(bundle.test, 8, 0)
    config = TrainConfig(model="googlenet", batch_size=16, epochs=1, precision="fp32", channels_last=False,
                         out=str(tmp_path / "g"), progress=False)
    trainer = Trainer(config, data=bundle)
    result = trainer.fit()
    assert trainer.model_kwargs.get("aux_logits") is True and result["epochs"] == 1
    payload = torch.load(tmp_path / "g" / "checkpoint.pt", weights_only=True)
    assert payload["model"]["name"] == "googlenet" and any(k.startswith("aux") for k in payload["state_dict"])


# ---- segmentation ------------------------------------------------------------------------------

def squares_bundle(n_train=96, n_test=32, size=32, seed=0) -> DataBundle:
    """Bright squares (class 1) and dim squares (class 2) on black: learnable per-pixel labels."""
    rng = np.random.default_rng(seed)

    def make(n):
        images = np.zeros((n, 1, size, size), np.uint8)
        masks = np.zeros((n, size, size), np.uint8)
        for i in range(n):
            for cls, value in ((1, 250), (2, 110)):
                y, x = rng.integers(0, size - 10, 2)
                images[i, 0, y:y + 8, x:x + 8] = value
                masks[i, y:y + 8, x:x + 8] = cls
        return ArrayDataset(torch.from_numpy(images), torch.from_numpy(masks), ("background", "bright", "dim"),
                            (0.1,), (0.25,), flippable=True)

    return DataBundle("squares", make(n_train), make(n_test))


@pytest.mark.slow
def test_a_unet_learns_to_segment_and_reports_iou(tmp_path):
    config = TrainConfig(model="unet_padded", model_kwargs={"width": 4}, epochs=6, batch_size=16, lr=0.05,
                         optimizer="adamw", schedule="onecycle", augment="flip", tta=True, precision="fp32",
                         channels_last=False, out=str(tmp_path / "seg"), progress=False)
    trainer = Trainer(config, data=squares_bundle())
    result = trainer.fit()
    assert result["task"] == "segmentation" and result["test_miou"] > 0.5  # chance-level IoU is far lower
    saved = json.loads((tmp_path / "seg" / "eval.json").read_text())
    assert saved["task"] == "segmentation" and set(saved["per_class_iou"]) == {"background", "bright", "dim"}
    assert sum(map(sum, saved["confusion"])) == 32 * 32 * 32  # every pixel of the test set, once
    row = trainer.history[-1]
    assert {"test_miou", "tta_test_miou"} <= set(row) and row["train_acc"] > 0.9
    assert torch.load(tmp_path / "seg" / "checkpoint.pt", weights_only=True)["task"] == "segmentation"


@pytest.mark.slow
def test_digit_scenes_train_evaluate_and_report(tmp_path, monkeypatch, capsys):
    """The real segmentation data end to end: generated from the shipped digits, trained briefly,
    evaluated by `convzoo eval` and reported with IoU per class and predicted masks."""
    monkeypatch.setenv("CONVZOO_DATA", str(tmp_path / "data"))
    assert run_cli(capsys, "data", "get", "digit-scenes")[0] == 0
    code, out, err = run_cli(capsys, "train", "unet_padded", "--data", "digit-scenes", "--model-arg", "width=4",
                             "--train-size", "64", "--batch-size", "32", "--epochs", "1", "--precision", "fp32",
                             "--out", tmp_path / "run", "--json")
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["task"] == "segmentation" and len(result["per_class_iou"]) == 11
    code, out, _ = run_cli(capsys, "eval", tmp_path / "run", "--json")
    evaluation = json.loads(out)
    assert code == 0 and evaluation["mean_iou"] == pytest.approx(result["test_miou"])  # one evaluation path
    assert sum(map(sum, evaluation["confusion"])) == 2000 * 64 * 64
    code, out, _ = run_cli(capsys, "report", tmp_path / "run")
    page = (tmp_path / "run" / "report.html").read_text()
    assert code == 0 and "Predicted masks" in page and "<th>IoU</th>" in page and "test mean IoU" in page


def test_progressive_resizing_refuses_segmentation(tmp_path):
    config = TrainConfig(model="unet_padded", model_kwargs={"width": 4}, epochs=2, progressive=0.5,
                         precision="fp32", channels_last=False, out=str(tmp_path / "seg"), progress=False)
    with pytest.raises(ConvzooError, match="progressive resizing is for classification"):
        Trainer(config, data=squares_bundle()).prepare()


def test_random_erasing_refuses_segmentation(tmp_path):
    """Noise over a square the mask still labels would teach the net to see what is hidden."""
    config = TrainConfig(model="unet_padded", model_kwargs={"width": 4}, epochs=1, augment="flip+erase",
                         precision="fp32", channels_last=False, out=str(tmp_path / "seg"), progress=False)
    with pytest.raises(ConvzooError, match="--augment flip\\+erase: erasing is for classification"):
        Trainer(config, data=squares_bundle()).prepare()


def test_masks_move_with_their_images():
    images = torch.zeros(16, 1, 12, 12, dtype=torch.uint8)
    images[:, :, 4:8, 5:9] = 200
    masks = (images[:, 0] > 0).to(torch.uint8) * 3
    data = ArrayDataset(images, masks, ("bg", "a", "b", "c"), (0.0,), (1.0,))
    loader = BatchLoader(data, 16, shuffle=True, augment=Augment(translate=3, flip=True),
                         generator=torch.Generator().manual_seed(0))
    x, y = next(iter(loader))
    assert y.dtype == torch.int64 and y.shape == (16, 12, 12)
    assert torch.equal(y == 3, x[:, 0] > 0)  # ink and label still coincide after the shift and flip
    assert len({tuple(torch.nonzero(m)[0].tolist()) for m in y}) > 3  # the images did move, differently


def test_a_mask_moves_with_its_image_but_is_not_erased():
    """A BatchLoader used directly on masks (the Trainer refuses erasing for segmentation) erases the
    images only: with the same draws, the masks are those of the shifts and flips alone."""
    images = torch.zeros(16, 1, 12, 12, dtype=torch.uint8)
    images[:, :, 4:8, 5:9] = 200
    data = ArrayDataset(images, (images[:, 0] > 0).to(torch.uint8) * 3, ("bg", "a", "b", "c"), (0.0,), (1.0,))

    def first_batch(augment):  # one batch: the shifts and flips are drawn before the rectangles
        return next(iter(BatchLoader(data, 16, shuffle=True, augment=augment, generator=torch.Generator().manual_seed(0))))

    x_plain, y_plain = first_batch(Augment(translate=3, flip=True))
    x_erased, y_erased = first_batch(Augment(translate=3, flip=True, erase=1.0))
    assert torch.equal(y_erased, y_plain)
    assert (x_erased != x_plain).flatten(1).any(1).all()  # every image got its rectangle of noise


def test_models_that_do_not_fit_the_task_get_one_line(tiny_data_dir):
    with pytest.raises(ConvzooError, match="unet_padded is a segmentation model .* classification dataset"):
        Trainer(TrainConfig(model="unet_padded", data_dir=str(tiny_data_dir), progress=False)).prepare()
    with pytest.raises(ConvzooError, match="lenet is a classification model .* segmentation dataset"):
        Trainer(TrainConfig(model="lenet", progress=False), data=squares_bundle(8, 4, size=28)).prepare()


@pytest.mark.slow
def test_eval_and_predict_give_masks(tmp_path, capsys):
    from PIL import Image

    bundle = squares_bundle()
    config = TrainConfig(model="unet_padded", model_kwargs={"width": 4}, epochs=1, batch_size=16,
                         precision="fp32", out=str(tmp_path / "seg"), progress=False)
    Trainer(config, data=bundle).fit()
    picture = tmp_path / "squares.png"
    Image.fromarray(bundle.test.images[0, 0].numpy()).resize((45, 37)).save(picture)  # any size
    code, out, err = run_cli(capsys, "predict", tmp_path / "seg", picture, "-o", tmp_path / "masks", "--json")
    assert code == 0, err
    [answer] = json.loads(out)
    mask = np.asarray(Image.open(answer["mask"]))
    assert mask.shape == (37, 45) and mask.max() < 3 and answer["size"] == [37, 45]


# ---- the lectures' knobs, --train-size, --resume -----------------------------------------------

@pytest.mark.slow
def test_model_args_reach_the_builder_from_the_command_line(tiny_data_dir, tmp_path, capsys):
    code, _, err = run_cli(capsys, "train", "lenet", "--data-dir", tiny_data_dir, "--epochs", "1",
                           "--model-arg", "activation=sigmoid", "--model-arg", "pooling=avg",
                           "--out", tmp_path / "knobs")
    assert code == 0, err
    saved = json.loads((tmp_path / "knobs" / "config.json").read_text())
    assert saved["model"]["kwargs"] == {"activation": "sigmoid", "pooling": "avg"}
    model, _ = model_from_checkpoint(tmp_path / "knobs")
    kinds = {type(m) for m in model.modules()}
    assert nn.Sigmoid in kinds and nn.AvgPool2d in kinds and nn.ReLU not in kinds


@pytest.mark.parametrize("args, fragment", [
    (["--model-arg", "nope=1"], "nope"),
    (["--model-arg", "dropout"], "KEY=VALUE"),
    (["--model-arg", "activation=swish"], "relu"),
])
def test_bad_model_args_are_one_line_errors(capsys, args, fragment):
    code, _, err = run_cli(capsys, "train", "lenet", *args)
    assert code != 0 and fragment in err and len(err.strip().splitlines()) == 1, err


def test_train_size_is_a_seeded_class_balanced_subset(tiny_data_dir):
    data = load_dataset("fashion-mnist", tiny_data_dir).train
    subset = balanced_subset(data, 100, seed=1)
    counts = torch.bincount(subset.labels, minlength=10)
    assert counts.sum() == 100 and counts.max() - counts.min() <= 1
    assert torch.equal(balanced_subset(data, 100, seed=1).labels, subset.labels)
    assert not torch.equal(balanced_subset(data, 100, seed=2).images, subset.images)
    lopsided = ArrayDataset(data.images[:30], torch.tensor([0] * 25 + [1] * 5), ("a", "b"), (0.0,), (1.0,))
    assert torch.bincount(balanced_subset(lopsided, 20, 0).labels).tolist() == [15, 5]  # b gives all it has
    with pytest.raises(ConvzooError, match="--train-size"):
        balanced_subset(data, 601, seed=0)


def test_resume_refuses_a_flag_it_would_ignore(tiny_run, capsys):
    code, _, err = run_cli(capsys, "train", "--resume", tiny_run, "--lr", "0.5")
    assert code == 1 and "--lr cannot change when resuming" in err and "--epochs" in err


def test_config_bounds_are_one_line_errors(capsys):
    for flag, value in (("--lr", "inf"), ("--threads", "-1"), ("--momentum", "1"), ("--batch-size", "0")):
        code, _, err = run_cli(capsys, "train", "lenet", flag, value)
        assert code == 1 and err.startswith(f"convzoo: error: {flag} must be"), (flag, err)


def test_device_cuda_without_a_gpu_is_one_line(capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, _, err = run_cli(capsys, "train", "lenet", "--device", "cuda")
    assert code == 1 and "no CUDA GPU" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(capsys, "train", "lenet", "--precision", "fp16", "--device", "cpu")
    assert code == 1 and "fp16" in err


# ---- class-balanced loss ---------------------------------------------------------------------

def test_balanced_weights_favour_rare_classes_and_keep_the_mean_at_one():
    from convzoo.train.tasks import balanced_weights

    labels = torch.tensor([0] * 90 + [1] * 9 + [2])  # class 3 never occurs
    inverse = balanced_weights(labels, 4, 1.0)
    assert inverse == pytest.approx((1 / 3 * 10 / 9, 1 / 3 * 100 / 9, 1 / 3 * 100, 0.0))  # 1/f, over sum f/f = 3
    for power in (0.0, 0.5, 1.0):
        weights = balanced_weights(labels, 4, power)
        assert (90 * weights[0] + 9 * weights[1] + weights[2]) / 100 == pytest.approx(1.0)
        assert weights[0] <= weights[1] <= weights[2] and weights[3] == 0
    assert balanced_weights(labels, 4, 0.0)[:3] == pytest.approx((1.0, 1.0, 1.0))


def test_a_weighted_task_weights_the_training_loss_but_reports_the_plain_one():
    from convzoo.train.tasks import SEGMENTATION

    logits = torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    masks = torch.randint(0, 3, (2, 4, 4), generator=torch.Generator().manual_seed(1))
    weighted = dataclasses.replace(SEGMENTATION, class_weights=(0.5, 2.0, 4.0))
    total, main, _ = weighted.loss_sum(logits, masks)
    per_pixel = -torch.log_softmax(logits, 1).gather(1, masks[:, None])[:, 0]
    assert main.item() == pytest.approx(per_pixel.sum().item(), rel=1e-5)
    assert total.item() == pytest.approx((per_pixel * torch.tensor([0.5, 2.0, 4.0])[masks]).sum().item(), rel=1e-5)


def test_the_trainer_balances_a_segmentation_by_its_training_masks(tmp_path):
    bundle = squares_bundle()
    config = TrainConfig(model="unet_padded", model_kwargs={"width": 4}, epochs=1, batch_size=16, class_balance=0.5,
                         precision="fp32", channels_last=False, out=str(tmp_path / "seg"), progress=False)
    trainer = Trainer(config, data=bundle).prepare()
    counts = torch.bincount(bundle.train.labels.flatten(), minlength=3).double()
    background, bright, dim = trainer.task.class_weights
    assert background < bright and background < dim  # the squares are rarer than the black around them
    assert (counts * torch.tensor(trainer.task.class_weights)).sum().item() / counts.sum().item() == pytest.approx(1.0)
