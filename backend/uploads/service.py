"""Pictures staff upload for what they publish (a live session's cover): checked by content,
cleaned of their metadata and stored (infra/images.py, infra/storage.py, as complaint photos
are), answered as a URL the object then names."""

from __future__ import annotations

from typing import Any

from backend.identity.access import Principal
from backend.infra import images
from backend.infra.storage import store_image
from backend.kernel.errors import InvalidInput, TooLarge


class NotAnImage(InvalidInput):
    code = "upload.not_an_image"
    message = "只支持 JPEG、PNG、WebP 图片"


class ImageTooLarge(TooLarge):
    code = "upload.too_large"
    message = f"图片不能超过 {images.MAX_IMAGE_BYTES // (1024 * 1024)} MB"


async def upload_image(deps: Any, principal: Principal, data: bytes) -> dict[str, Any]:
    """Store one picture under the caller's brand (and distributor): its URL and size."""
    folder = f"images/{principal.brand_id}/{principal.distributor_id or 'brand'}"
    try:
        image = await store_image(deps.settings.storage, folder, data)
    except images.ImageTooLarge as refused:
        raise ImageTooLarge() from refused
    except images.NotAnImage as refused:
        raise NotAnImage(str(refused)) from refused
    return {"url": image.url, "width": image.width, "height": image.height}
