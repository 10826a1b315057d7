"""Preprocessing the lectures name for the classical baselines: raw pixels, deskewing, HOG.

Every function takes (N, H, W) uint8 images and returns (N, D) float64 features.
- raw: the pixels scaled to [0, 1].
- deskew: LeCun's table's "deskewing": each image's second moments give its slant (the covariance
  of row and column over the variance of the rows); an affine shear undoes it and moves the centre of
  mass to the image centre (scipy.ndimage.affine_transform, bilinear).
- hog: histograms of oriented gradients (Dalal & Triggs 2005), written in NumPy because
  scikit-image is not a dependency: unsigned orientation in 9 bins with linear interpolation
  between bins, 7x7-pixel cells, 2x2-cell blocks with stride one cell, L2-Hys normalisation
  (324 features for 28x28).
"""

from __future__ import annotations

import numpy as np

FEATURES = ("raw", "deskew", "hog")


def second_moments(image: np.ndarray) -> tuple[float, float, float, float, float]:
    """(row mean, column mean, row variance, row-column covariance, column variance) of the ink."""
    img = image.astype(np.float64)
    total = img.sum()
    if total == 0:
        return 0.0, 0.0, 1.0, 0.0, 1.0
    rows, cols = np.mgrid[:img.shape[0], :img.shape[1]]
    r, c = (rows * img).sum() / total, (cols * img).sum() / total
    var_r = ((rows - r) ** 2 * img).sum() / total
    cov = ((rows - r) * (cols - c) * img).sum() / total
    var_c = ((cols - c) ** 2 * img).sum() / total
    return r, c, var_r, cov, var_c


def skew(image: np.ndarray) -> float:
    """Columns moved per row down the image: 0 for an upright stroke."""
    _, _, var_r, cov, _ = second_moments(image)
    return cov / var_r if var_r > 0 else 0.0


def deskew_one(image: np.ndarray) -> np.ndarray:
    """One (H, W) image sheared upright and centred, as float64 in the input's range."""
    from scipy.ndimage import affine_transform

    r, c, var_r, cov, _ = second_moments(image)
    alpha = cov / var_r if var_r > 0 else 0.0
    matrix = np.array([[1.0, 0.0], [alpha, 1.0]])  # output (row, col) -> input (row, col + alpha*row)
    centre = np.array(image.shape, dtype=np.float64) / 2.0
    offset = np.array([r, c]) - matrix @ centre
    return affine_transform(image.astype(np.float64), matrix, offset=offset, order=1)


def deskew(images: np.ndarray) -> np.ndarray:
    return np.stack([deskew_one(img) for img in images]) if len(images) else images.astype(np.float64)


def hog(images: np.ndarray, cell: int = 7, bins: int = 9, block: int = 2) -> np.ndarray:
    """(N, H, W) -> (N, blocks * block**2 * bins) HOG descriptors."""
    x = images.astype(np.float64) / 255.0
    n, h, w = x.shape
    gy, gx = np.zeros_like(x), np.zeros_like(x)
    gy[:, 1:-1] = x[:, 2:] - x[:, :-2]
    gx[:, :, 1:-1] = x[:, :, 2:] - x[:, :, :-2]
    magnitude = np.hypot(gx, gy)
    angle = np.rad2deg(np.arctan2(gy, gx)) % 180.0  # unsigned
    position = angle / (180.0 / bins) - 0.5  # bin centres at 10, 30, ... degrees
    low = np.floor(position).astype(int)
    upper_share = position - low
    ch, cw = h // cell, w // cell
    hist = np.zeros((n, ch, cw, bins))
    crop = (slice(None), slice(0, ch * cell), slice(0, cw * cell))
    for index, weight in ((low % bins, 1.0 - upper_share), ((low + 1) % bins, upper_share)):
        vote = (magnitude * weight)[crop]
        idx = index[crop]
        for b in range(bins):
            hist[..., b] += np.where(idx == b, vote, 0.0).reshape(n, ch, cell, cw, cell).sum(axis=(2, 4))
    blocks = []
    for i in range(ch - block + 1):
        for j in range(cw - block + 1):
            v = hist[:, i:i + block, j:j + block].reshape(n, -1)
            v = v / np.sqrt((v ** 2).sum(1, keepdims=True) + 1e-10)
            v = np.minimum(v, 0.2)  # L2-Hys: clip, then normalise again
            blocks.append(v / np.sqrt((v ** 2).sum(1, keepdims=True) + 1e-10))
    return np.concatenate(blocks, axis=1)


def extract(images: np.ndarray, kind: str) -> np.ndarray:
    """Features of `kind` for (N, H, W) or (N, 1, H, W) uint8 images."""
    from ..errors import unknown_name

    if images.ndim == 4:
        if images.shape[1] != 1:
            from ..errors import ConvzooError

            raise ConvzooError(f"the baselines take grey images; these have {images.shape[1]} channels")
        images = images[:, 0]
    n = len(images)
    if kind == "raw":
        return images.reshape(n, -1).astype(np.float64) / 255.0
    if kind == "deskew":
        return deskew(images).reshape(n, -1) / 255.0
    if kind == "hog":
        return hog(images)
    raise unknown_name("feature", kind, list(FEATURES))


def width_normalise(images: np.ndarray, width: int) -> np.ndarray:
    """(N, H, W) uint8 digits with their ink's bounding box stretched or squeezed horizontally to
    `width` pixels (its height kept), centred in the image: Ciresan et al. 2012's width
    normalisation (MNIST's digits fill a 20-pixel box; they used widths 10, 12, ..., 20). An empty
    image stays empty; 0 leaves the images as they are."""
    import torch

    if not width:
        return images
    out = np.zeros_like(images)
    h, w = images.shape[1:]
    for i, img in enumerate(images):
        rows, cols = np.nonzero(img)
        if not len(rows):
            continue
        crop = torch.from_numpy(img[rows.min():rows.max() + 1, cols.min():cols.max() + 1].astype(np.float32))
        scaled = torch.nn.functional.interpolate(crop[None, None], size=(crop.shape[0], min(width, w)),
                                                 mode="bilinear", align_corners=False)[0, 0]
        top, left = (h - scaled.shape[0]) // 2, (w - scaled.shape[1]) // 2
        out[i, top:top + scaled.shape[0], left:left + scaled.shape[1]] = scaled.round().clamp(0, 255).numpy()
    return out
