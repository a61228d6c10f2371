"""Odoo connector against the standard library's XML-RPC server."""

from __future__ import annotations

import base64
from xmlrpc.client import Fault

import pytest

from cmmsconnect import CmmsAuthExpired, CmmsRejected, CmmsUnavailable, Progress
from cmmsconnect.connectors.odoo import OdooConnector
from tests.cmms.conftest import jpeg, make_wo
from tests.fakes.cmms import FakeOdoo
from tests.fakes.http import free_port


def connector(fake: FakeOdoo, *, key: str = "odoo-key") -> OdooConnector:
    return OdooConnector(fake.url, fake.db, fake.login, key, timeout_s=5)


async def test_create_with_equipment_and_photo(odoo: FakeOdoo) -> None:
    odoo.equipment = [{"id": 11, "serial_no": "SN-1234"}]
    client = connector(odoo)
    result = await client.create(make_wo(priority="urgent"), Progress())
    photo = jpeg()
    await client.attach_photo(result.remote_id, photo)

    values = odoo.requests[int(result.remote_id)]
    assert values["name"] == "Allen-Bradley PowerFlex 525 – F004 overcurrent"
    assert values["priority"] == "3" and values["maintenance_type"] == "corrective" and values["equipment_id"] == 11
    assert values["description"].startswith("<p>") and "[ref:tg-1-2]</p>" in values["description"]
    (attachment,) = odoo.attachments.values()
    assert attachment["raw"] == photo and attachment["res_model"] == "maintenance.request"
    assert attachment["res_id"] == int(result.remote_id) and attachment["mimetype"] == "image/jpeg"
    assert base64.b64decode(attachment["datas"]) == photo
    assert result.asset_id == "11" and "model=maintenance.request" in (result.url or "")
    assert await client.find_by_ref("[ref:tg-1-2]") == result.remote_id
    assert await client.find_by_ref("[ref:tg-1-3]") is None


async def test_old_odoo_gets_plain_text_and_unknown_serial_is_false() -> None:
    fake = FakeOdoo(version=15)
    fake.start()
    try:
        client = connector(fake)
        result = await client.create(make_wo(), Progress())
        values = fake.requests[int(result.remote_id)]
        assert values["description"].endswith("\n[ref:tg-1-2]") and values["equipment_id"] is False
    finally:
        fake.stop()


async def test_access_denied_relogs_once_then_fails(odoo: FakeOdoo) -> None:
    client = connector(odoo)
    await client.create(make_wo("k1"), Progress())
    odoo.fail_next = [Fault(3, "odoo.exceptions.AccessDenied: Access Denied")]
    await client.create(make_wo("k2"), Progress())  # re-login, then it works
    assert len(odoo.requests) == 2
    bad = connector(odoo, key="rotated")
    with pytest.raises(CmmsAuthExpired):
        await bad.create(make_wo("k3"), Progress())


async def test_validation_fault_is_rejected(odoo: FakeOdoo) -> None:
    odoo.fail_next = [Fault(2, "odoo.exceptions.ValidationError: nope")]
    with pytest.raises(CmmsRejected):
        await connector(odoo).create(make_wo(serial_number=None), Progress())


async def test_down_is_unavailable() -> None:
    client = OdooConnector(f"http://127.0.0.1:{free_port()}", "db", "bot", "k", timeout_s=2)
    with pytest.raises(CmmsUnavailable) as caught:
        await client.create(make_wo(), Progress())
    assert not caught.value.maybe_sent
