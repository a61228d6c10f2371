"""MaintainX connector against the fake, and every request it sends against MaintainX's OpenAPI description."""

from __future__ import annotations

import pytest

from cmmsconnect import CmmsAuthExpired, CmmsRateLimited, CmmsRejected, CmmsUnavailable, Progress
from cmmsconnect.connectors.maintainx import MaintainXConnector
from tests.cmms.conftest import jpeg, make_wo
from tests.cmms.openapi_contract import SPEC_PATH, check_request, load_spec
from tests.fakes.cmms import SLOW, FakeMaintainX
from tests.fakes.http import Reply


def connector(fake: FakeMaintainX, *, key: str = "mx-key", timeout_s: float = 5.0) -> MaintainXConnector:
    return MaintainXConnector(fake.base_url, key, organization_id=7, timeout_s=timeout_s)


async def test_create_matches_asset_by_serial_and_uploads_photo(maintainx: FakeMaintainX) -> None:
    maintainx.assets = [
        {"id": 5, "manufacturer": "Allen-Bradley", "model": "PowerFlex 525", "serialNumber": "OTHER"},
        {"id": 6, "manufacturer": "Allen-Bradley", "model": "PowerFlex 525", "serialNumber": "sn-1234 "},
    ]
    client = connector(maintainx)
    photo = jpeg()
    result = await client.create(make_wo(photo=photo, priority="urgent"), Progress())
    await client.attach_photo(result.remote_id, photo)
    await client.aclose()

    (body,) = maintainx.work_orders.values()
    assert body["title"] == "Allen-Bradley PowerFlex 525 – F004 overcurrent"
    assert body["priority"] == "HIGH" and body["assetId"] == 6 and body["type"] == "REACTIVE"
    assert body["description"].endswith("[ref:tg-1-2]")
    assert result.url == f"https://app.getmaintainx.com/workorders/{result.remote_id}" and result.asset_id == "6"
    ((filename, content_type, data),) = maintainx.attachments[int(result.remote_id)]
    assert data == photo and content_type == "image/jpeg" and filename.endswith(".jpg")
    assert maintainx.calls_to("/workorders$")[0].headers["x-organization-id"] == "7"


async def test_no_asset_match_leaves_equipment_as_text(maintainx: FakeMaintainX) -> None:
    client = connector(maintainx)
    await client.create(make_wo(serial_number=None), Progress())
    await client.aclose()
    (body,) = maintainx.work_orders.values()
    assert "assetId" not in body and "Allen-Bradley PowerFlex 525" in body["description"]
    assert not maintainx.calls_to("/assets")  # no serial: nothing to search for


async def test_find_by_ref(maintainx: FakeMaintainX) -> None:
    client = connector(maintainx)
    created = await client.create(make_wo("tg-9-9"), Progress())
    assert await client.find_by_ref("[ref:tg-9-9]") == created.remote_id
    assert await client.find_by_ref("[ref:tg-0-0]") is None
    await client.aclose()


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(429, json={}, headers={"X-Rate-Limit-Reset": "17"}), CmmsRateLimited),
        (Reply(503, json={}), CmmsUnavailable),
        (Reply(400, json={"errors": [{"error": "bad"}]}), CmmsRejected),
        (Reply(422, json={}), CmmsRejected),
    ],
)
async def test_errors_are_typed(maintainx: FakeMaintainX, reply: Reply, error: type[Exception]) -> None:
    maintainx.fail_next("create", reply)
    client = connector(maintainx)
    with pytest.raises(error) as caught:
        await client.create(make_wo(), Progress())
    await client.aclose()
    if isinstance(caught.value, CmmsRateLimited):
        assert caught.value.retry_after == 17.0


async def test_bad_key_is_auth_error(maintainx: FakeMaintainX) -> None:
    client = connector(maintainx, key="wrong")
    with pytest.raises(CmmsAuthExpired):
        await client.create(make_wo(), Progress())
    await client.aclose()


async def test_timeout_after_sending_is_unknown_outcome(maintainx: FakeMaintainX) -> None:
    maintainx.fail_next("create", SLOW)
    client = connector(maintainx, timeout_s=0.3)
    with pytest.raises(CmmsUnavailable) as caught:
        await client.create(make_wo(), Progress())
    await client.aclose()
    assert caught.value.maybe_sent and len(maintainx.work_orders) == 1


@pytest.mark.skipif(not SPEC_PATH.exists(), reason=f"MaintainX OpenAPI description not found at {SPEC_PATH}")
async def test_requests_validate_against_maintainx_openapi(maintainx: FakeMaintainX) -> None:
    spec = load_spec()
    assert spec is not None
    maintainx.assets = [{"id": 6, "manufacturer": "Allen-Bradley", "model": "PowerFlex 525", "serialNumber": "SN-1234"}]
    client = connector(maintainx)
    for priority in ("low", "medium", "high", "urgent"):
        result = await client.create(make_wo(f"k-{priority}", priority=priority, photo=jpeg()), Progress())
        await client.attach_photo(result.remote_id, jpeg())
    await client.create(make_wo("k-bare", manufacturer=None, model=None, serial_number=None), Progress())
    await client.find_by_ref("[ref:k-low]")
    await client.aclose()
    assert {c.method for c in maintainx.calls} == {"GET", "POST", "PUT"}
    problems = [problem for call in maintainx.calls for problem in check_request(spec, call)]
    assert problems == []


@pytest.mark.skipif(not SPEC_PATH.exists(), reason=f"MaintainX OpenAPI description not found at {SPEC_PATH}")
def test_contract_checker_catches_a_bad_request() -> None:
    from tests.fakes.http import Recorded

    spec = load_spec()
    assert spec is not None
    bad = Recorded(
        "POST",
        "/workorders",
        {"sort": ["sideways"]},
        {"content-type": "application/json"},
        b'{"priority": "URGENT", "status": "OPEN"}',
    )
    problems = check_request(spec, bad)
    assert any("missing title" in p for p in problems)
    assert any("URGENT" in p for p in problems)
    assert any("bearer" in p for p in problems)
    assert any("sort" in p for p in problems)
