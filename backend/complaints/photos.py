"""Checking and cleaning a complaint photo before it is stored: pure (bytes in, bytes out).

Only JPEG, PNG and WebP images are accepted, whatever the file claims to be: Pillow reads
the content. The picture is turned upright by its EXIF orientation and written again
without any metadata, so the location a phone records (EXIF GPS) never leaves the phone's
owner. Decompression bombs (tiny files that decode to huge images) are refused.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # about 8000 × 5000: more than any phone camera
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}


@dataclass(frozen=True, slots=True)
class CleanPhoto:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


class NotAPhoto(ValueError):
    """The bytes are not a JPEG, PNG or WebP picture we accept (the reason in Chinese)."""


def cleaned(data: bytes) -> CleanPhoto:
    if not data:
        raise NotAPhoto("文件为空")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                kind = opened.format or ""
                if kind not in FORMATS:
                    raise NotAPhoto("只支持 JPEG、PNG、WebP 图片")
                if opened.width * opened.height > MAX_PIXELS:
                    raise NotAPhoto("图片尺寸过大")
                upright = ImageOps.exif_transpose(opened)
                upright.load()
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise NotAPhoto("不是可识别的图片") from exc
    except OSError as exc:  # truncated or corrupt image data
        raise NotAPhoto("图片已损坏") from exc
    content_type, extension = FORMATS[kind]
    out = io.BytesIO()
    if kind == "JPEG":
        # No exif= argument: nothing of the original metadata is written.
        upright.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
    else:
        upright.save(out, kind)
    return CleanPhoto(out.getvalue(), content_type, extension, upright.width, upright.height)
