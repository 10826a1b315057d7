"""Applications built from the layers below: segmentation of images of any size (overlap-tile); neural
style transfer (style.py, with its offline feature networks in style_features.py)."""

from ..infer.tiling import Geometry, TilePlan, plan_tiles, probe_geometry, tiled_logits
from .segment import Segmenter, overlay_image, prepare_image, segment_files, segment_image
from .style import StyleResult, stylize

__all__ = ["Geometry", "Segmenter", "StyleResult", "TilePlan", "overlay_image", "plan_tiles", "prepare_image",
           "probe_geometry", "segment_files", "segment_image", "stylize", "tiled_logits"]
