"""The embedded default: work orders kept in our own database (``cmms_work_orders``), no external CMMS.

It still goes through the outbox like any other backend, so there is one delivery path to trust. Creation is
idempotent by the unique ``ref`` column (the work order key), so a resend after a crash finds the same row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cmmsconnect._sql import insert_ignoring_duplicates
from cmmsconnect.connector import CreateResult, Progress
from cmmsconnect.models import LocalWorkOrder
from cmmsconnect.workorder import WorkOrder


def key_from_ref(ref: str) -> str:
    return ref.removeprefix("[ref:").removesuffix("]")


class LocalConnector:
    name = "local"
    max_photo_bytes = 2_000_000  # keeps the database small; a Telegram photo is ~200 kB anyway

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def create(self, wo: WorkOrder, progress: Progress) -> CreateResult:
        values: dict[str, Any] = {
            "ref": wo.key,
            "title": wo.title[:200],
            "description": wo.description,
            "priority": wo.priority,
            "status": "open",
            "equipment_type": wo.equipment_type,
            "manufacturer": wo.manufacturer,
            "model": wo.model,
            "serial_number": wo.serial_number,
            "reporter_id": wo.reporter.id,
            "reporter_name": wo.reporter.name[:128],
            "chat_id": wo.chat_id,
            "message_id": wo.message_id,
            "photo": wo.photo,
            "created_at": wo.created_at,
        }
        async with self._sessionmaker.begin() as session:
            await insert_ignoring_duplicates(session, LocalWorkOrder, values, unique="ref")
            remote_id = await session.scalar(select(LocalWorkOrder.id).where(LocalWorkOrder.ref == wo.key))
        assert remote_id is not None
        return CreateResult(remote_id=str(remote_id), photo_attached=True)

    async def find_by_ref(self, ref: str) -> str | None:
        async with self._sessionmaker() as session:
            found = await session.scalar(select(LocalWorkOrder.id).where(LocalWorkOrder.ref == key_from_ref(ref)))
        return None if found is None else str(found)

    async def attach_photo(self, remote_id: str, photo: bytes) -> None:
        async with self._sessionmaker.begin() as session:
            await session.execute(update(LocalWorkOrder).where(LocalWorkOrder.id == int(remote_id)).values(photo=photo))

    def url_for(self, remote_id: str) -> str | None:
        return None

    async def aclose(self) -> None:
        return None
