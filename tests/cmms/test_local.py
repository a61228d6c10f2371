"""The embedded local backend keeps work orders in our own database, idempotent by key."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cmmsconnect import Progress
from cmmsconnect.connectors.local import LocalConnector
from cmmsconnect.models import LocalWorkOrder
from tests.cmms.conftest import jpeg, make_wo


async def test_create_is_idempotent_and_findable(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    client = LocalConnector(sessionmaker)
    first = await client.create(make_wo(photo=jpeg()), Progress())
    again = await client.create(make_wo(photo=jpeg()), Progress())
    assert first.remote_id == again.remote_id and first.photo_attached
    assert await client.find_by_ref("[ref:tg-1-2]") == first.remote_id
    assert await client.find_by_ref("[ref:nope]") is None
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(LocalWorkOrder)) == 1
        row = (await session.scalars(select(LocalWorkOrder))).one()
        assert (row.serial_number, row.priority, row.reporter_id, row.status) == ("SN-1234", "high", 42, "open")
        assert row.created_at.tzinfo is not None
