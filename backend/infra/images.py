"""Checking and cleaning an uploaded picture before it is stored (a complaint's photo, a live
session's cover): pure, bytes in, bytes out.

Only JPEG, PNG and WebP images are accepted, whatever the file claims to be: Pillow reads
the content, once the size is checked. The picture is turned upright by its EXIF orientation
and written again without any metadata, so the location a phone records (EXIF GPS) never
leaves the phone's owner. Decompression bombs (tiny files that decode to huge images) are refused.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # about 8000 × 5000: more than any phone camera
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}


@dataclass(frozen=True, slots=True)
class CleanImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


class NotAnImage(ValueError):
    """The bytes are not a JPEG, PNG or WebP picture we accept (the reason in Chinese)."""


class ImageTooLarge(NotAnImage):
    """More bytes than MAX_IMAGE_BYTES: refused before it is decoded."""


def cleaned(data: bytes) -> CleanImage:
    if not data:
        raise NotAnImage("文件为空")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageTooLarge(f"图片不能超过 {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                kind = opened.format or ""
                if kind not in FORMATS:
                    raise NotAnImage("只支持 JPEG、PNG、WebP 图片")
                if opened.width * opened.height > MAX_PIXELS:
                    raise NotAnImage("图片尺寸过大")
                upright = ImageOps.exif_transpose(opened)
                upright.load()
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise NotAnImage("不是可识别的图片") from exc
    except OSError as exc:  # truncated or corrupt image data
        raise NotAnImage("图片已损坏") from exc
    content_type, extension = FORMATS[kind]
    out = io.BytesIO()
    if kind == "JPEG":
        # No exif= argument: nothing of the original metadata is written.
        upright.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
    else:
        upright.save(out, kind)
    return CleanImage(out.getvalue(), content_type, extension, upright.width, upright.height)
