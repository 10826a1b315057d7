"""Applications built from the layers below: segmentation of images of any size (overlap-tile)."""

from .segment import Segmenter, overlay_image, prepare_image, segment_files, segment_image
from .tiling import Geometry, TilePlan, plan_tiles, probe_geometry, tiled_logits

__all__ = ["Geometry", "Segmenter", "TilePlan", "overlay_image", "plan_tiles", "prepare_image", "probe_geometry",
           "segment_files", "segment_image", "tiled_logits"]
