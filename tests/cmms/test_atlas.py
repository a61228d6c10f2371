"""Atlas connector against the fake: JWT in both shapes, upload-then-create, asset by serial, ref search."""

from __future__ import annotations

import pytest

from cmmsconnect import CmmsAuthExpired, Progress
from cmmsconnect.connectors.atlas import AtlasConnector
from tests.cmms.conftest import jpeg, make_wo
from tests.fakes.cmms import FakeAtlas


def connector(fake: FakeAtlas, *, password: str = "s3cret") -> AtlasConnector:
    return AtlasConnector(fake.base_url, fake.email, password, app_url="https://atlas.example", timeout_s=5)


async def test_upload_then_create_with_image_and_asset(atlas: FakeAtlas) -> None:
    atlas.assets = [{"id": 3, "serialNumber": "SN-1234"}]
    saved: list[dict[str, object]] = []

    async def saver(data: dict[str, object]) -> None:
        saved.append(data)

    photo = jpeg()
    client = connector(atlas)
    result = await client.create(make_wo(photo=photo, priority="medium"), Progress(saver=saver))
    await client.aclose()

    ((file_id, (fields, content)),) = atlas.files.items()
    assert content == photo and fields["type"] == "IMAGE"
    body = atlas.work_orders[int(result.remote_id)]
    assert body["image"] == {"id": file_id} and body["files"] == [{"id": file_id}]
    assert body["priority"] == "MEDIUM" and body["asset"] == {"id": 3}
    assert result.photo_attached and result.url == f"https://atlas.example/app/work-orders/{result.remote_id}"
    assert saved == [{"atlas_image_id": file_id}]  # durable before the work order is created


async def test_retry_reuses_the_uploaded_image(atlas: FakeAtlas) -> None:
    client = connector(atlas)
    await client.create(make_wo(photo=jpeg()), Progress({"atlas_image_id": 77}))
    await client.aclose()
    assert not atlas.files and next(iter(atlas.work_orders.values()))["image"] == {"id": 77}


@pytest.mark.parametrize("with_refresh", [False, True])
async def test_expired_token_is_renewed_once(with_refresh: bool) -> None:
    with FakeAtlas(with_refresh=with_refresh) as fake:
        client = connector(fake)
        await client.create(make_wo("k1"), Progress())
        fake.expire_tokens()
        await client.create(make_wo("k2"), Progress())
        await client.aclose()
        assert len(fake.work_orders) == 2
        assert len(fake.calls_to("/auth/refresh")) == (1 if with_refresh else 0)
        assert fake.signins == (1 if with_refresh else 2)


async def test_wrong_password_is_auth_error(atlas: FakeAtlas) -> None:
    client = connector(atlas, password="nope")
    with pytest.raises(CmmsAuthExpired):
        await client.create(make_wo(), Progress())
    await client.aclose()
    assert not atlas.work_orders


async def test_unlicensed_upload_files_the_work_order_without_photo(atlas: FakeAtlas) -> None:
    atlas.files_licensed = False
    progress = Progress()
    client = connector(atlas)
    result = await client.create(make_wo(photo=jpeg()), progress)
    await client.aclose()
    assert "image" not in atlas.work_orders[int(result.remote_id)]
    assert not result.photo_attached and "license" in progress.get("atlas_image_refused")


async def test_find_by_ref_and_attach_later(atlas: FakeAtlas) -> None:
    client = connector(atlas)
    created = await client.create(make_wo("tg-5-6"), Progress())
    assert await client.find_by_ref("[ref:tg-5-6]") == created.remote_id
    assert await client.find_by_ref("[ref:tg-5-7]") is None
    await client.attach_photo(created.remote_id, jpeg())
    await client.aclose()
    (file_id,) = atlas.files
    assert atlas.work_orders[int(created.remote_id)]["files"] == [{"id": file_id}]
