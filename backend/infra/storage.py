"""Object storage behind one interface: files under a directory (the embedded default, served
at /media) or an S3-compatible bucket (production). Keys are chosen by the caller and never
come from user input."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from backend.config import StorageSettings
from backend.infra import images
from backend.infra.logging import get_logger

log = get_logger("storage")


class ObjectStorage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def delete(self, key: str) -> None:
        """Remove the object; no error when it is already gone."""
        ...

    def url(self, key: str) -> str: ...


class LocalStorage:
    def __init__(self, root: Path, public_url: str) -> None:
        self.root, self.public_url = root, public_url

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self.root / key
        await asyncio.to_thread(self._write, path, data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(path.suffix + ".part")
        temporary.write_bytes(data)
        temporary.replace(path)  # readers never see half a file

    async def delete(self, key: str) -> None:
        await asyncio.to_thread((self.root / key).unlink, missing_ok=True)

    def url(self, key: str) -> str:
        return f"{self.public_url}/{key}"


class S3Storage:
    """boto3's client, in a worker thread (it is synchronous)."""

    def __init__(self, settings: StorageSettings) -> None:
        import boto3  # noqa: PLC0415 - only production deployments load it

        self.bucket, self.public_url = settings.bucket, settings.public_url
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=settings.endpoint_url,
            region_name=settings.region,
            aws_access_key_id=settings.access_key_id,
            aws_secret_access_key=settings.secret_access_key,
        )

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(
            self.client.put_object,
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            CacheControl="public, max-age=31536000, immutable",
        )

    async def delete(self, key: str) -> None:
        # S3 answers a delete of a missing key with success, as the interface wants.
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=key)

    def url(self, key: str) -> str:
        return f"{self.public_url}/{key}"


@lru_cache(maxsize=4)
def storage_for(settings: StorageSettings) -> ObjectStorage:
    """The process's storage for these settings (one client, made on first use)."""
    if settings.backend == "s3":
        return S3Storage(settings)
    if settings.local_dir is None:  # config.UNUSED_STORAGE: a role that keeps no files
        raise RuntimeError("this process's role keeps no files: no storage is configured")
    return LocalStorage(settings.local_dir, settings.public_url)


@dataclass(frozen=True, slots=True)
class StoredImage:
    key: str
    url: str
    content_type: str
    size_bytes: int
    width: int
    height: int


async def store_image(settings: StorageSettings, folder: str, data: bytes) -> StoredImage:
    """Check and clean an uploaded picture (images.cleaned: NotAnImage or ImageTooLarge when
    refused, before anything is stored), then store it under `folder` with a random name."""
    return await store_clean_image(settings, folder, images.cleaned(data))


async def store_clean_image(
    settings: StorageSettings, folder: str, image: images.CleanImage
) -> StoredImage:
    """Store a picture images.cleaned() made (for a caller that also reads the cleaned
    bytes, as display photos are measured) under `folder` with a random name."""
    key = f"{folder}/{uuid.uuid4().hex}.{image.extension}"
    storage = storage_for(settings)
    await storage.put(key, image.data, image.content_type)
    return StoredImage(
        key, storage.url(key), image.content_type, len(image.data), image.width, image.height
    )


async def delete_files(settings: StorageSettings, keys: Iterable[str]) -> None:
    """Delete the files of rows already deleted (unattached uploads a purge took). A file that
    cannot be deleted is only space, so it is logged rather than raised: the rows are gone."""
    storage = storage_for(settings)
    for key in keys:
        try:
            await storage.delete(key)
        except Exception:
            log.exception("could not delete a stored file", extra={"key": key})
