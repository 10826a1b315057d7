"""Use a trained checkpoint: read images safely (`images`), one answer per file (`files`), the
Predictor that classifies or segments (`predictor`), the segmentation path `predict` and
`convzoo segment` share (`segmentation`, `tiling`), masks as palette PNGs (`masks`)."""

from .files import card_of, file_error, prepare_files
from .images import (
           MAX_PIXELS,
           MAX_SIDE,
           ImageTooLarge,
           UnsupportedImage,
           open_image_header,
           read_image,
           to_uint8_input,
)
from .masks import mask_palette, write_mask
from .predictor import Analysis, Predictor, conv_map_modules

__all__ = ["MAX_PIXELS", "MAX_SIDE", "Analysis", "ImageTooLarge", "Predictor", "UnsupportedImage", "card_of", "conv_map_modules",
           "file_error", "mask_palette", "open_image_header", "prepare_files", "read_image",
           "to_uint8_input", "write_mask"]
