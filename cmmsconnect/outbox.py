"""The outbox service the bot uses: submit in the caller's transaction, deliver, and look at what is queued.

Why an outbox: the technician's "Create work order" must never be lost to a CMMS outage and never be filed
twice. ``submit`` only inserts a row, in the same transaction as whatever else the caller records, and the
unique ``key`` column turns a double tap or a redelivered Telegram update into a no-op that returns the
first row. The network is only touched by ``deliver_due`` (see ``delivery.py``).
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cmmsconnect._sql import insert_ignoring_duplicates
from cmmsconnect.connector import Connector
from cmmsconnect.delivery import OnDead, Worker
from cmmsconnect.entries import DeliveryReport, OutboxEntry, work_order_to_json
from cmmsconnect.models import OutboxRow, OutboxStatus
from cmmsconnect.settings import CmmsSettings
from cmmsconnect.workorder import WorkOrder

CSV_COLUMNS = (
    "id",
    "key",
    "status",
    "backend",
    "remote_id",
    "remote_url",
    "title",
    "priority",
    "manufacturer",
    "model",
    "serial_number",
    "reporter_id",
    "reporter_name",
    "chat_id",
    "message_id",
    "attempts",
    "last_error",
    "created_at",
    "delivered_at",
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Outbox:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        connector: Connector,
        settings: CmmsSettings,
        *,
        clock: Callable[[], datetime] = _utcnow,
        rand: Callable[[], float] = random.random,
        on_dead: OnDead | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._connector = connector
        self._settings = settings
        self._clock = clock
        self._worker = Worker(sessionmaker, connector, settings, rand=rand, on_dead=on_dead)

    @property
    def dead_after(self) -> timedelta:
        return timedelta(hours=self._settings.dead_after_hours)

    async def submit(self, session: AsyncSession, wo: WorkOrder) -> OutboxEntry:
        """Queue ``wo`` in the caller's transaction (the caller commits). Same key again → the existing row."""
        now = self._clock()
        values = {
            "key": wo.key,
            "backend": self._connector.name,
            "status": OutboxStatus.PENDING,
            "work_order": work_order_to_json(wo),
            "photo": wo.photo,
            "photo_sha256": hashlib.sha256(wo.photo).hexdigest() if wo.photo is not None else None,
            "title": wo.title[:200],
            "reporter_id": wo.reporter.id,
            "chat_id": wo.chat_id,
            "message_id": wo.message_id,
            "asset": wo.asset,
            "progress": {},
            "attempts": 0,
            "next_attempt_at": now,
            "deadline_at": now + self.dead_after,
            "created_at": now,
            "updated_at": now,
        }
        inserted = await insert_ignoring_duplicates(session, OutboxRow, values, unique="key")
        row = (await session.scalars(select(OutboxRow).where(OutboxRow.key == wo.key))).one()
        return OutboxEntry.of(row, is_new=inserted)

    async def deliver_due(self, now: datetime | None = None) -> list[DeliveryReport]:
        """One worker step (the bot's job queue calls it every few seconds): deliver every due row."""
        return await self._worker.deliver_due(now or self._clock())

    async def get(self, entry_id: int) -> OutboxEntry | None:
        async with self._sessionmaker() as session:
            row = await session.get(OutboxRow, entry_id)
            return None if row is None else OutboxEntry.of(row)

    async def pending_and_dead(self) -> list[OutboxEntry]:
        """The admin view: everything not delivered (pending, created-without-photo, failed, dead)."""
        wanted = (*OutboxStatus.ACTIVE, OutboxStatus.FAILED, OutboxStatus.DEAD)
        async with self._sessionmaker() as session:
            rows = await session.scalars(
                select(OutboxRow).where(OutboxRow.status.in_(wanted)).order_by(OutboxRow.created_at)
            )
            return [OutboxEntry.of(row) for row in rows]

    async def retry(self, entry_id: int) -> OutboxEntry | None:
        """Admin action: deliver this row at the next worker step, with a fresh dead-after window."""
        now = self._clock()
        async with self._sessionmaker.begin() as session:
            row = await session.get(OutboxRow, entry_id)
            if row is None or row.status == OutboxStatus.DELIVERED:
                return None if row is None else OutboxEntry.of(row)
            if row.status in (OutboxStatus.DEAD, OutboxStatus.FAILED):
                row.status = OutboxStatus.PENDING if row.remote_id is None else OutboxStatus.CREATED
                row.deadline_at = now + self.dead_after
            row.next_attempt_at = now
            row.locked_until = None
            row.updated_at = now
            await session.flush()
            return OutboxEntry.of(row)

    async def recent_for_reporter(self, reporter_id: int, limit: int = 10) -> list[OutboxEntry]:
        """A technician's latest work orders, newest first (for /workorders)."""
        async with self._sessionmaker() as session:
            rows = await session.scalars(
                select(OutboxRow)
                .where(OutboxRow.reporter_id == reporter_id)
                .order_by(OutboxRow.created_at.desc(), OutboxRow.id.desc())
                .limit(limit)
            )
            return [OutboxEntry.of(row) for row in rows]

    async def for_asset(self, asset: str, limit: int = 3) -> list[OutboxEntry]:
        """The latest work orders for one equipment-register unit, newest first, rejected ones left out."""
        wanted = (*OutboxStatus.ACTIVE, OutboxStatus.DELIVERED, OutboxStatus.DEAD)
        async with self._sessionmaker() as session:
            rows = await session.scalars(
                select(OutboxRow)
                .where(OutboxRow.asset == asset, OutboxRow.status.in_(wanted))
                .order_by(OutboxRow.created_at.desc(), OutboxRow.id.desc())
                .limit(limit)
            )
            return [OutboxEntry.of(row) for row in rows]

    async def export_csv(self, target: str | Path | TextIO) -> int:
        """Every work order with its delivery state as CSV (a path or an open text stream); returns the row count."""
        async with self._sessionmaker() as session:
            rows = list(await session.scalars(select(OutboxRow).order_by(OutboxRow.id)))
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            wo = row.work_order
            writer.writerow(
                [
                    row.id,
                    row.key,
                    row.status,
                    row.backend,
                    row.remote_id or "",
                    row.remote_url or "",
                    row.title,
                    wo.get("priority", ""),
                    wo.get("manufacturer") or "",
                    wo.get("model") or "",
                    wo.get("serial_number") or "",
                    row.reporter_id,
                    wo.get("reporter", {}).get("name", ""),
                    row.chat_id or "",
                    row.message_id or "",
                    row.attempts,
                    row.last_error or "",
                    row.created_at.isoformat(),
                    row.delivered_at.isoformat() if row.delivered_at else "",
                ]
            )
        text = buffer.getvalue()
        if isinstance(target, str | Path):
            await asyncio.to_thread(Path(target).write_text, text, encoding="utf-8", newline="")
        else:
            await asyncio.to_thread(target.write, text)
        return len(rows)

    async def aclose(self) -> None:
        await self._connector.aclose()
