"""`convzoo segment` (convzoo.apps): overlap-tile predictions equal one pass where both apply, any
image size gives a mask of that size, the CLI writes a mask and an overlay, bad input is one line
and leaves no file. Small untrained U-Nets (width 2): what is tested is geometry, not accuracy."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from helpers import run_cli as run
from PIL import Image

from convzoo.apps import Geometry, overlay_image, plan_tiles, prepare_image, probe_geometry, segment_image
from convzoo.errors import ConvzooError
from convzoo.infer import mask_palette
from convzoo.infer.tiling import mirror_pad, tiled_logits
from convzoo.models import create_model
from convzoo.train.checkpoint import save_checkpoint

SMALL = {"num_classes": 3, "in_channels": 1, "input_size": (188, 188), "width": 2}
CLASSES = ["background", "bright", "dim"]
TOLERANCE = 1e-5  # float32 logits of order 1, summed in another order by convolutions of other sizes


def small_unet(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model(name, **SMALL).eval()


@pytest.fixture(scope="module")
def valid_unet():
    return small_unet("unet")


@pytest.fixture(scope="module")
def padded_unet():
    return small_unet("unet_padded")


def noise(*shape, seed=0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_geometry_comes_from_shape_probes_and_matches_the_paper(valid_unet, padded_unet):
    assert probe_geometry(valid_unet) == Geometry(border=92, grid=16, min_input=188)
    assert probe_geometry(padded_unet) == Geometry(border=0, grid=16, min_input=16)
    for side in range(188, 300):  # exactly the sides 12 mod 16 lose only the border; the rest lose more
        out = valid_unet(torch.zeros(0, 1, side, side)).shape[-1]
        assert (out == side - 184) == (side % 16 == 12), side


def test_valid_unet_tiles_equal_one_pass_over_the_mirror_padded_image(valid_unet):
    geometry = probe_geometry(valid_unet)
    x = noise(1, 1, 160, 150)
    plan = plan_tiles(geometry, 160, 150, tile=236)  # 52 output pixels per tile, tiles 48 apart
    assert (plan.rows.count, plan.cols.count, plan.rows.step) == (4, 4, 48)
    tiled = tiled_logits(valid_unet, x, plan, geometry)
    with torch.inference_mode():
        whole = valid_unet(mirror_pad(x, plan.rows, plan.cols))[0]  # (3, 196, 196): a valid size, one pass
    assert whole.shape[1] >= 160 and whole.shape[2] >= 150
    torch.testing.assert_close(tiled, whole[:, :160, :150], atol=TOLERANCE, rtol=TOLERANCE)
    # The paper's step, the whole 52-pixel output (3 * 16 + 4), moves each next tile off the pooling grid:
    # the first tile's rows still agree, the next ones do not.
    rows = dataclasses.replace(plan.rows, step=52, count=4)
    shifted = tiled_logits(valid_unet, x, dataclasses.replace(plan, rows=rows), geometry)
    torch.testing.assert_close(shifted[:, :52], whole[:, :52, :150], atol=TOLERANCE, rtol=TOLERANCE)
    assert (shifted[:, 52:] - whole[:, 52:160, :150]).abs().max() > 1e-2


def test_padded_tiles_agree_with_the_whole_image_in_their_centres(padded_unet):
    """Each tile keeps its centre, 96 pixels (the U-Net's 92-pixel reach, on the grid) inside its edges,
    where the tile's own zero padding cannot reach; so away from the image's edges the tiles equal one
    pass over the image. Near the image's edges they differ: there the one pass saw zero padding, the
    tiles the mirrored image."""
    geometry = probe_geometry(padded_unet)
    x = noise(1, 1, 256, 224, seed=1)
    whole_plan = plan_tiles(geometry, 256, 224)
    assert whole_plan.whole and whole_plan.tiles == 1
    whole = tiled_logits(padded_unet, x, whole_plan, geometry)
    plan = plan_tiles(geometry, 256, 224, tile=256)  # 64x64 centres of 256x256 tiles
    assert (plan.rows.count, plan.cols.count, plan.rows.kept) == (4, 4, 64)
    tiled = tiled_logits(padded_unet, x, plan, geometry)
    inner = (slice(None), slice(96, -96), slice(96, -96))
    torch.testing.assert_close(tiled[inner], whole[inner], atol=TOLERANCE, rtol=TOLERANCE)
    assert (tiled - whole)[:, :4].abs().max() > 1e-2
    thin = tiled_logits(padded_unet, x, plan_tiles(geometry, 256, 224, tile=64, margin=16), geometry)
    assert (thin - whole)[inner].abs().max() > 1e-2  # a 16-pixel margin is not enough


@pytest.mark.parametrize("height, width", [(37, 123), (120, 400), (5, 3)])
@pytest.mark.parametrize("name", ["unet", "unet_padded"])
def test_any_size_gives_a_mask_of_exactly_that_size(valid_unet, padded_unet, name, height, width):
    model = valid_unet if name == "unet" else padded_unet
    image = np.random.default_rng(height).integers(0, 256, (height, width), dtype=np.uint8)
    mask, logits = segment_image(model, image)
    assert mask.shape == (height, width) and mask.dtype == np.uint8 and logits.shape == (3, height, width)
    assert np.array_equal(mask, logits.argmax(0).numpy())


def test_tiles_are_rounded_to_sides_the_network_takes():
    valid = Geometry(92, 16, 188)
    plan = plan_tiles(valid, 1000, 37, tile=500)  # 500 -> 492 (12 mod 16); the narrow axis: one 236 tile
    assert (plan.rows.tile, plan.rows.step, plan.rows.count) == (492, 304, 4)
    assert (plan.cols.tile, plan.cols.count) == (236, 1)
    assert plan_tiles(valid, 100, 100).tiles == 1 and plan_tiles(valid, 1000, 1000).rows.tile == 572
    padded = Geometry(0, 16, 16)
    assert plan_tiles(padded, 600, 600).tiles == 4  # over the pixel budget: 512 tiles keeping 320
    with pytest.raises(ConvzooError, match="at least 204"):
        plan_tiles(valid, 1000, 1000, tile=190)


def test_light_pictures_are_inverted_and_normalised_like_the_training_data():
    light = np.full((4, 6), 255, np.uint8)
    light[1, 2] = 0
    x = prepare_image(light, 1, mean=(0.1,), std=(0.2,))
    assert x.shape == (1, 1, 4, 6)
    assert x[0, 0, 1, 2].item() == pytest.approx((1 - 0.1) / 0.2) and x[0, 0, 0, 0].item() == pytest.approx(-0.5)
    assert prepare_image(light, 1, invert=False)[0, 0, 0, 0].item() == pytest.approx(1.0)


def test_predict_and_segment_share_one_path_where_both_make_one_pass(padded_unet):
    """`predict` (Predictor.segment) and `convzoo segment` prepare and count through
    infer.segmentation: a 64x64 picture needs no padding in either, so their masks agree."""
    from convzoo.infer import Predictor
    from convzoo.infer.segmentation import class_pixels

    picture = np.full((64, 64), 230, np.uint8)  # light: both invert it
    picture[10:30, 20:50], picture[40:60, 5:25] = 0, 120
    data = {"name": "test", "classes": CLASSES, "mean": [0.06], "std": [0.22], "shape": [1, 64, 64]}
    predicted = Predictor.from_model(padded_unet, data, task="segmentation").segment(Image.fromarray(picture))
    segmented, _ = segment_image(padded_unet, picture, mean=[0.06], std=[0.22])
    assert np.array_equal(predicted, segmented)
    not_inverted, _ = segment_image(padded_unet, picture, mean=[0.06], std=[0.22], invert=False)
    assert not np.array_equal(predicted, not_inverted)  # the comparison can tell preparations apart
    counts = class_pixels(predicted, CLASSES)
    assert sum(counts["pixels"].values()) == 64 * 64 and "background" not in counts["found"]


def test_the_overlay_tints_only_labelled_pixels_with_the_mask_colours():
    picture = Image.fromarray(np.full((3, 4), 200, np.uint8))
    mask = np.zeros((3, 4), np.uint8)
    mask[1, 1], mask[2, 3] = 1, 2
    tinted = np.asarray(overlay_image(picture, mask, 3))
    colours = np.asarray(mask_palette(3)).reshape(-1, 3)
    assert (tinted[mask == 0] == 200).all()
    assert np.array_equal(tinted[1, 1], np.round(0.5 * 200 + 0.5 * colours[1]).astype(np.uint8))
    assert not np.array_equal(tinted[1, 1], tinted[2, 3])


# ---- the command ----------------------------------------------------------------------------

def save(path, name: str, task: str, classes: list[str], **options):
    model = create_model(name, num_classes=len(classes), in_channels=1, **options)
    data = {"name": "test", "classes": classes, "mean": [0.06], "std": [0.22], "shape": [1, 64, 64]}
    return save_checkpoint(path, {"model": model.convzoo_spec, "task": task, "state_dict": model.state_dict(),
                                  "data": data})


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("segment")
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    scene = np.zeros((120, 400), np.uint8)
    scene[20:60, 30:70], scene[50:100, 200:260] = 250, 110
    Image.fromarray(scene).save(root / "wide.png")
    Image.fromarray(rng.integers(0, 256, (37, 123), dtype=np.uint8)).save(root / "small.png")
    return {"root": root, "wide": root / "wide.png", "small": root / "small.png",
            "padded": save(root / "padded.pt", "unet_padded", "segmentation", CLASSES, input_size=64, width=2),
            "valid": save(root / "valid.pt", "unet", "segmentation", CLASSES, input_size=188, width=2),
            "classifier": save(root / "lenet.pt", "lenet_modern", "classification", list("0123456789"),
                               input_size=28)}


@pytest.mark.parametrize("kind", ["padded", "valid"])
def test_segment_writes_the_mask_and_the_overlay(files, tmp_path, capsys, kind):
    code, out, err = run(capsys, "segment", files[kind], files["wide"], "-o", tmp_path / "mask.png")
    assert code == 0, err
    mask_file, overlay_file = tmp_path / "mask.png", tmp_path / "mask.overlay.png"
    with Image.open(mask_file) as saved:
        assert saved.mode == "P" and saved.size == (400, 120)
        mask = np.asarray(saved)
    with Image.open(overlay_file) as tinted:
        assert tinted.mode == "RGB" and tinted.size == (400, 120)
    from convzoo.apps import Segmenter

    segmenter = Segmenter(files[kind])
    expected, _ = segment_image(segmenter.model, Image.open(files["wide"]), mean=[0.06], std=[0.22])
    assert np.array_equal(mask, expected)  # the command prepares the image as the library does
    counts = np.bincount(mask.ravel(), minlength=3)
    tiles = "1 pass over the whole image" if kind == "padded" else "2 tiles (2x1) of 572x316"
    assert out.startswith(f"{files['wide']}: 400x120, {tiles}")
    assert ", ".join(f"{c} {n:,}" for c, n in zip(CLASSES, counts) if n) in out


def test_predict_on_a_valid_unet_writes_the_mask_segment_writes(files, tmp_path, capsys):
    """`predict` on a valid U-Net (it loses 92 pixels a side) tiles as `convzoo segment` does: its
    mask has the image's size, not the one-pass output's, and the same labels."""
    code, _, err = run(capsys, "predict", files["valid"], files["wide"], "-o", tmp_path)
    assert code == 0, err
    code, _, err = run(capsys, "segment", files["valid"], files["wide"], "-o", tmp_path / "segmented.png")
    assert code == 0, err
    with Image.open(tmp_path / "wide.mask.png") as predicted, Image.open(tmp_path / "segmented.png") as segmented:
        assert predicted.size == segmented.size == (400, 120)
        assert np.array_equal(np.asarray(predicted), np.asarray(segmented))
        assert len(np.unique(np.asarray(predicted))) > 1  # the comparison can tell labels apart


def test_several_images_go_to_a_folder_and_json_says_how(files, tmp_path, capsys):
    code, out, err = run(capsys, "segment", files["valid"], files["wide"], files["small"], "-o", tmp_path / "masks",
                         "--tile", "300", "--json")
    assert code == 0, err
    wide, small = json.loads(out)
    assert sorted(p.name for p in (tmp_path / "masks").iterdir()) == [
        "small.mask.png", "small.overlay.png", "wide.mask.png", "wide.overlay.png"]
    assert (wide["width"], wide["height"], small["width"], small["height"]) == (400, 120, 123, 37)
    assert wide["mode"] == "overlap-tile" and wide["tile_width"] == 300 and wide["tiles"] == 4 * 2
    assert sum(wide["pixels"].values()) == 400 * 120 and set(wide["found"]) <= set(CLASSES[1:])


@pytest.mark.parametrize("case, message", [
    ("not an image", "not a PNG or JPEG image"),
    ("too large", "larger than 4096x4096 pixels"),
    ("missing", "no such file"),
    ("classifier", "lenet_modern is a classification model, not a segmentation model"),
    ("file in the way", "cannot write"),
    ("input overwritten", "would overwrite an input image"),
])
def test_bad_input_is_one_line_and_writes_nothing(files, tmp_path, capsys, monkeypatch, case, message):
    from convzoo.apps import segment

    def never(*_args):
        raise AssertionError("predicted before every input was checked")

    monkeypatch.setattr(segment, "tiled_logits", never)
    image, checkpoint, out = files["small"], files["padded"], tmp_path / "out" / "mask.png"
    if case == "not an image":
        image = tmp_path / "notes.png"
        image.write_text("not a picture\n")
    elif case == "too large":
        image = tmp_path / "strip.png"
        Image.new("L", (4097, 1)).save(image)
    elif case == "missing":
        image = tmp_path / "gone.png"
    elif case == "classifier":
        checkpoint = files["classifier"]
    elif case == "file in the way":
        (tmp_path / "out").write_text("a file, not a folder\n")
    elif case == "input overwritten":
        image = tmp_path / "scene.png"
        Image.open(files["small"]).save(image)
        out = tmp_path / "scene.png"
    before = sorted(tmp_path.rglob("*"))
    code, stdout, err = run(capsys, "segment", checkpoint, image, "-o", out)
    assert code == 1 and stdout == ""
    assert err.startswith("convzoo: error: ") and message in err and err.count("\n") == 1, err
    assert sorted(tmp_path.rglob("*")) == before  # no mask, no overlay, no temporary


def test_a_checkpoint_that_is_not_there_is_one_line(files, tmp_path, capsys):
    code, _, err = run(capsys, "segment", tmp_path / "no-run", files["small"], "-o", tmp_path / "m.png")
    assert code == 1 and "no such checkpoint" in err and err.count("\n") == 1
    assert not any(tmp_path.iterdir())
