"""What the automatic checks measure in a display photo: its perceptual hash (a reused or
forwarded photo hashes within a few bits of the original, even resized or recompressed), how
bright it is and how sharp (backend/display/verdict.py says how dark or blurred is too much).
CPU work on image bytes: call `measure` in a thread.

Everything is measured on a grey copy no larger than MEASURE_SIDE pixels, so a 12-megapixel
phone photo costs about as much as a small one, and the sharpness of the same scene does not
depend on the phone's resolution.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import imagehash
import numpy as np
from PIL import Image

# The longest side the photo is brought down to before anything is measured. 512 px keeps
# the shelf's edges (price tags, packs) that tell sharp from blurred, and decodes a large
# JPEG in a few milliseconds through Pillow's draft mode (a reduced-scale decode).
MEASURE_SIDE = 512

# The grey copy is first brought to one contrast (a standard deviation of REFERENCE_CONTRAST
# grey levels), so that sharpness measures edges, not exposure: without it a dim but crisp
# photo (the Laplacian scales with contrast squared) read as low as a blurred bright one.
REFERENCE_CONTRAST = 50.0


@dataclass(frozen=True, slots=True)
class Measures:
    phash: int  # 64-bit perceptual hash, unsigned (0 … 2**64 - 1)
    brightness: float  # mean grey, 0–255
    sharpness: float  # variance of the Laplacian of the grey copy


def _grey(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as opened:
        # JPEG decodes at 1/2, 1/4 or 1/8 scale when that is still at least this large.
        opened.draft("L", (MEASURE_SIDE, MEASURE_SIDE))
        grey = opened.convert("L")
    grey.thumbnail((MEASURE_SIDE, MEASURE_SIDE), Image.Resampling.BILINEAR)
    return grey


def laplacian_variance(pixels: np.ndarray) -> float:
    """The variance of the 4-neighbour Laplacian: large where edges are crisp, near zero on
    a smeared image, whatever its brightness."""
    g = pixels.astype(np.float32)
    spread = float(g.std())
    if g.shape[0] < 3 or g.shape[1] < 3 or spread < 1.0:
        return 0.0
    g = (g - g.mean()) * (REFERENCE_CONTRAST / spread)
    laplacian = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1]
    return float(laplacian.var())


def measure(data: bytes) -> Measures:
    """The measures of a cleaned image (backend/infra/images.py already refused anything
    that is not a picture)."""
    grey = _grey(data)
    pixels = np.asarray(grey)
    hashed = imagehash.phash(grey, hash_size=8)
    return Measures(
        phash=int(str(hashed), 16),
        brightness=round(float(pixels.mean()), 2),
        sharpness=round(laplacian_variance(pixels), 2),
    )
