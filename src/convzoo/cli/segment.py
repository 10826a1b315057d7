"""`convzoo segment`: label every pixel of images of any size with a segmentation checkpoint, the
large ones by U-Net's overlap-tile strategy (convzoo.apps.segment)."""

from __future__ import annotations

from . import argtypes
from .output import Result


def register(sub) -> None:
    p = sub.add_parser("segment", help="segment images of any size (overlap-tile): mask PNG + colour overlay",
                       description="Label every pixel of each IMAGE with a segmentation checkpoint and write a "
                                   "palette PNG mask (pixel value = class index) and a colour overlay. Images of "
                                   "any size: a valid U-Net predicts mirror-padded tiles whose outputs tile the "
                                   "image; a padded network predicts the whole image, or margin-padded tiles "
                                   "when it is large (docs/applications.md).")
    p.add_argument("checkpoint", help="a segmentation checkpoint: file or run directory")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="PNG or JPEG files")
    p.add_argument("-o", "--out", required=True,
                   help="one image: the mask file (mask.png); several: a folder for IMAGE.mask.png and "
                        "IMAGE.overlay.png")
    p.add_argument("--tile", type=argtypes.positive, metavar="N",
                   help="input side per tile in pixels, rounded down to one the network takes (default: the "
                        "paper's 572 for unet; the whole image, else 512, for a padded network)")
    p.add_argument("--overlay", metavar="PATH", help="one image: the overlay file (default: MASK_STEM.overlay.png)")
    argtypes.add_code_flag(p)
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=run)


def run(args) -> Result:
    from ..apps.segment import segment_files

    results = segment_files(args.checkpoint, args.images, args.out, overlay=args.overlay, tile=args.tile, code=args.code)
    text = []
    for r in results:  # each image: how it was cut, where its pictures went; then its pixels per class
        tiles = ("1 pass over the whole image" if r["mode"] == "whole image" else
                 f"{r['tiles']} tile{'s' * (r['tiles'] > 1)} ({r['tile_columns']}x{r['tile_rows']}) of "
                 f"{r['tile_width']}x{r['tile_height']}, {r['context']}-pixel mirrored context")
        text += [f"{r['image']}: {r['width']}x{r['height']}, {tiles} -> {r['mask']}, {r['overlay']}",
                 "  " + ", ".join(f"{name} {count:,}" for name, count in r["pixels"].items())]
    return Result(results, text, indent=2)
