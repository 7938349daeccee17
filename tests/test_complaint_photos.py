"""Complaint photos: checked by content, cleaned of their metadata (the phone's location
never leaves), stored behind the storage interface (a directory here, an S3-compatible bucket
in production, tested against moto's S3 server), attached when the complaint is filed, and
refused cleanly: not an image, too large, too many, or not the store's own."""

from __future__ import annotations

import io
import socket
from typing import Any

import boto3
import httpx
import pytest
from PIL import ExifTags, Image

from backend.complaints import service as complaints_service
from backend.complaints.models import Complaint, ComplaintPhoto
from backend.config import StorageSettings
from backend.infra.storage import S3Storage
from tests.factories import bearer, idempotent, make_shop, make_store, store_owner

API = "/api/v1/complaints"


def phone_photo(size: tuple[int, int] = (64, 48)) -> bytes:
    """A JPEG as a phone writes it: with its GPS position and a rotation in EXIF."""
    picture = Image.new("RGB", size, "red")
    exif = picture.getexif()
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (30.0, 15.0, 0.0), 3: "E", 4: (120.0, 10.0, 0.0)}
    exif[ExifTags.Base.Orientation] = 6
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


async def upload(
    client: httpx.AsyncClient, owner: dict[str, Any], data: bytes, name: str = "a.jpg"
) -> httpx.Response:
    return await client.post(
        f"{API}/photos", files={"file": (name, data, "image/jpeg")}, headers=bearer(owner)
    )


async def test_a_photo_is_cleaned_stored_and_attached(client, sandbox_client, settings) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    uploaded = await upload(client, owner, phone_photo())
    assert uploaded.status_code == 201, uploaded.text
    photo = uploaded.json()
    assert (photo["width"], photo["height"]) == (48, 64)  # turned upright by its EXIF
    path = photo["url"].removeprefix(settings.public_base_url)
    served = await client.get(path)
    assert served.status_code == 200
    stored = Image.open(io.BytesIO(served.content))
    assert stored.format == "JPEG" and not stored.getexif()  # no GPS, no metadata at all

    body = {"category": "damaged", "text": "外壳破裂", "photo_ids": [photo["id"]]}
    filed = await client.post(API, json=body, headers=idempotent(owner))
    assert filed.status_code == 201, filed.text
    assert [p["url"] for p in filed.json()["photos"]] == [photo["url"]]
    again = await client.post(API, json=body, headers=idempotent(owner))  # already used
    assert again.status_code == 422
    assert again.json()["error"]["code"] == "complaint.photos_unavailable"
    assert await Complaint.all().count() == 1


async def test_bad_uploads_are_refused_and_nothing_is_kept(client, sandbox_client) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    text = await upload(client, owner, b"%PDF-1.4 not a photo", name="a.jpg")
    assert text.status_code == 422 and text.json()["error"]["code"] == "complaint.not_a_photo"
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, "GIF")
    assert (await upload(client, owner, gif.getvalue(), name="a.gif")).status_code == 422
    truncated = phone_photo()[:200]
    assert (await upload(client, owner, truncated)).status_code == 422
    huge = b"\xff\xd8" + b"0" * (6 * 1024 * 1024)  # over the photo limit, under the upload one
    too_large = await upload(client, owner, huge)
    assert too_large.status_code == 413
    assert too_large.json()["error"]["code"] == "complaint.photo_too_large"
    missing = await client.post(f"{API}/photos", headers=bearer(owner))
    assert missing.status_code == 422
    assert await ComplaintPhoto.all().count() == 0


async def test_too_many_or_anothers_photos_save_no_complaint(client, sandbox_client) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    mine = [(await upload(client, owner, phone_photo())).json()["id"] for _ in range(2)]
    other = await store_owner(client, sandbox_client, await make_store(shop.tenant))
    theirs = (await upload(client, other, phone_photo())).json()["id"]
    ten = {"category": "damaged", "text": "坏了", "photo_ids": list(range(1, 11))}
    assert (await client.post(API, json=ten, headers=idempotent(owner))).status_code == 422
    mixed = {"category": "damaged", "text": "坏了", "photo_ids": [*mine, theirs]}
    refused = await client.post(API, json=mixed, headers=idempotent(owner))
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "complaint.photos_unavailable"
    assert await Complaint.all().count() == 0
    assert await ComplaintPhoto.filter(complaint_id__isnull=False).count() == 0


async def test_photos_no_complaint_took_are_purged_after_a_day(
    client, sandbox_client, settings, deps
) -> None:
    shop = await make_shop()
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    kept, dropped = [(await upload(client, owner, phone_photo())).json() for _ in range(2)]
    body = {"category": "damaged", "text": "外壳破裂", "photo_ids": [kept["id"]]}
    assert (await client.post(API, json=body, headers=idempotent(owner))).status_code == 201
    assert await complaints_service.purge_unattached_photos(deps, deps.clock.now()) == 0
    deps.clock.advance(hours=23)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)  # tokens expired
    late = (await upload(client, owner, phone_photo())).json()  # a day old only tomorrow
    deps.clock.advance(hours=2)

    assert await complaints_service.purge_unattached_photos(deps, deps.clock.now()) == 1
    assert sorted(await ComplaintPhoto.all().values_list("id", flat=True)) == sorted(
        [kept["id"], late["id"]]
    )

    def on_disk(photo: dict[str, Any]) -> bool:
        assert settings.storage.local_dir is not None
        key = photo["url"].removeprefix(settings.storage.public_url + "/")
        return (settings.storage.local_dir / key).exists()

    assert (on_disk(kept), on_disk(dropped), on_disk(late)) == (True, False, True)
    assert await complaints_service.purge_unattached_photos(deps, deps.clock.now()) == 0


@pytest.fixture
def s3_endpoint() -> Any:
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


async def test_s3_storage_puts_the_file_in_the_bucket(s3_endpoint) -> None:
    settings = StorageSettings(
        backend="s3",
        public_url=f"{s3_endpoint}/complaints-media",
        bucket="complaints-media",
        endpoint_url=s3_endpoint,
        access_key_id="test",
        secret_access_key="test",
    )
    boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    ).create_bucket(Bucket="complaints-media")
    storage = S3Storage(settings)
    await storage.put("complaints/1/2/gone.jpg", b"jpeg bytes", "image/jpeg")
    await storage.delete("complaints/1/2/gone.jpg")
    await storage.delete("complaints/1/2/gone.jpg")  # already gone: no error
    with pytest.raises(storage.client.exceptions.NoSuchKey):
        storage.client.get_object(Bucket="complaints-media", Key="complaints/1/2/gone.jpg")
    await storage.put("complaints/1/2/x.jpg", b"jpeg bytes", "image/jpeg")
    stored = storage.client.get_object(Bucket="complaints-media", Key="complaints/1/2/x.jpg")
    assert stored["Body"].read() == b"jpeg bytes"
    assert stored["ContentType"] == "image/jpeg"
    assert storage.url("complaints/1/2/x.jpg") == (
        f"{s3_endpoint}/complaints-media/complaints/1/2/x.jpg"
    )
