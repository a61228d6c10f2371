"""The outbox worker step: claim due rows, deliver each through the connector, record every step.

Delivery of one row, each arrow a commit on the row before the next network call::

    pending ─(progress.sent=True)→ connector.create ─(remote_id, status=created)→ attach_photo
            ─(progress.photo_done=True)→ delivered

* A row whose ``progress.sent`` is already set (the last create timed out, or the process died mid-request)
  first asks the CMMS for its ``[ref:key]`` marker; only when nothing is found is it created again.
* A row with a ``remote_id`` never calls ``create`` again: a retry resumes at the photo.
* Rows are claimed with a lease (``locked_until``), so two workers never deliver the same row and a crashed
  worker's rows come back once the lease runs out (see ``Worker.claim``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import undefer

from cmmsconnect.connector import Connector, CreateResult, Progress
from cmmsconnect.entries import DeliveryReport, ReportStatus, work_order_from_json
from cmmsconnect.errors import CmmsError, CmmsRateLimited, CmmsRejected, CmmsUnavailable
from cmmsconnect.models import OutboxRow, OutboxStatus
from cmmsconnect.photo import compress_photo
from cmmsconnect.policy import next_attempt_at
from cmmsconnect.settings import CmmsSettings
from cmmsconnect.workorder import WorkOrder

log = logging.getLogger(__name__)

OnDead = Callable[[DeliveryReport], Awaitable[None]]


class Worker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        connector: Connector,
        settings: CmmsSettings,
        *,
        rand: Callable[[], float] = random.random,
        on_dead: OnDead | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._connector = connector
        self._settings = settings
        self._rand = rand
        self._on_dead = on_dead

    async def deliver_due(self, now: datetime) -> list[DeliveryReport]:
        ids = await self.claim(now)
        gate = asyncio.Semaphore(self._settings.worker_concurrency)

        async def one(entry_id: int) -> DeliveryReport:
            async with gate:
                return await self._deliver(entry_id, now)

        return list(await asyncio.gather(*(one(entry_id) for entry_id in ids)))

    async def claim(self, now: datetime) -> list[int]:
        """Lease up to ``worker_batch`` rows due at ``now`` to this worker; their ids.

        One ``UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED) RETURNING id``: on PostgreSQL
        concurrent workers each lock different due rows instead of all reading the same first batch and losing
        the compare-and-set on most of it (measured before: 8 workers over 300 due rows, 50 rows claimed, 7
        workers idle). SQLite has no row locks and needs none: the statement runs under its write lock.

        The lease is kept on one clock for all workers: the database's ``now()`` on PostgreSQL, where workers run
        on several machines whose clocks drift; on SQLite, one machine, that machine's. ``now`` (which tests move
        freely) only decides which rows are due.
        """
        batch = self._settings.worker_batch
        lease = timedelta(seconds=self._settings.lease_s)
        async with self._sessionmaker.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                clock: Any = func.now()
            else:
                clock = datetime.now(UTC)
            free = or_(OutboxRow.locked_until.is_(None), OutboxRow.locked_until <= clock)
            due = (OutboxRow.status.in_(OutboxStatus.ACTIVE), OutboxRow.next_attempt_at <= now, free)
            pick = (
                select(OutboxRow.id)
                .where(*due)
                .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
            claimed = await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(pick.scalar_subquery()))
                .values(locked_until=clock + lease)
                .returning(OutboxRow.id)
                .execution_options(synchronize_session=False)
            )
            return sorted(claimed.scalars())

    async def _save(self, entry_id: int, now: datetime, **values: Any) -> None:
        async with self._sessionmaker.begin() as session:
            await session.execute(update(OutboxRow).where(OutboxRow.id == entry_id).values(updated_at=now, **values))

    async def _deliver(self, entry_id: int, now: datetime) -> DeliveryReport:
        async with self._sessionmaker() as session:
            row = await session.get(OutboxRow, entry_id, options=[undefer(OutboxRow.photo)])
        assert row is not None
        report = _Reporter(row)
        if now >= row.deadline_at:
            await self._save(entry_id, now, status=OutboxStatus.DEAD, locked_until=None)
            dead = report("dead", attempts=row.attempts, error=row.last_error or "never delivered")
            if self._on_dead is not None:
                try:
                    await self._on_dead(dead)
                except Exception:  # a failed alert must not stop the other deliveries; the row stays dead
                    log.exception("on_dead callback failed for outbox row %s", entry_id)
            return dead

        photo = row.photo
        if photo is not None:
            photo = await asyncio.to_thread(compress_photo, photo, self._connector.max_photo_bytes)
        wo = work_order_from_json(row.work_order, photo)

        async def save_progress(data: dict[str, Any]) -> None:
            await self._save(entry_id, now, progress=data)

        progress = Progress(dict(row.progress), save_progress)
        if row.photo is not None and photo is None and not progress.get("photo_error"):
            await progress.save("photo_error", "the photo could not be compressed under the CMMS's limit")
        sent_before = bool(progress.get("sent"))
        remote_id, url = row.remote_id, row.remote_url
        try:
            if remote_id is None:
                result = await self._create(wo, progress, sent_before)
                remote_id, url = result.remote_id, result.url
                photo_done = result.photo_attached or photo is None
                progress.data["photo_done"] = photo_done
                await self._save(
                    entry_id,
                    now,
                    status=OutboxStatus.CREATED,
                    remote_id=remote_id,
                    remote_url=url,
                    progress=dict(progress.data),
                )
            if photo is not None and not progress.get("photo_done"):
                try:
                    await self._connector.attach_photo(remote_id, photo)
                except CmmsRejected as exc:  # the work order exists; a refused picture must not undo it
                    progress.data["photo_error"] = exc.message[:300]
                await progress.save("photo_done", True)
        except CmmsError as exc:
            return await self._failed(row, report, exc, now, remote_id, progress, sent_before)
        except Exception as exc:  # a connector bug: keep the row, retry later, show the error to admins
            log.exception("cmms delivery of outbox row %s crashed", entry_id)
            failure = CmmsUnavailable(f"internal error: {exc!r}", maybe_sent=True)
            return await self._failed(row, report, failure, now, remote_id, progress, sent_before)

        await self._save(
            entry_id,
            now,
            status=OutboxStatus.DELIVERED,
            delivered_at=now,
            locked_until=None,
            attempts=row.attempts + 1,
            last_error=progress.get("photo_error"),
            photo=None,  # the CMMS has it now (photo_sha256 stays); the outbox is not a photo archive
        )
        attached = photo is not None and not progress.get("photo_error")
        return report("created", attempts=row.attempts + 1, remote_id=remote_id, url=url, photo_attached=attached)

    async def _create(self, wo: WorkOrder, progress: Progress, sent_before: bool) -> CreateResult:
        if sent_before:  # the last try may have reached the CMMS: look before filing again
            found = await self._connector.find_by_ref(wo.ref)
            if found is not None:
                log.info("work order %s already in %s as %s", wo.key, self._connector.name, found)
                return CreateResult(remote_id=found, url=self._connector.url_for(found))
        await progress.save("sent", True)
        return await self._connector.create(wo, progress)

    async def _failed(
        self,
        row: OutboxRow,
        report: _Reporter,
        exc: CmmsError,
        now: datetime,
        remote_id: str | None,
        progress: Progress,
        sent_before: bool,
    ) -> DeliveryReport:
        attempts = row.attempts + 1
        error = f"{type(exc).__name__}: {exc.message}"[:1000]
        if isinstance(exc, CmmsRejected) and remote_id is None:
            await self._save(
                row.id, now, status=OutboxStatus.FAILED, attempts=attempts, last_error=error, locked_until=None
            )
            return report("rejected", attempts=attempts, error=error)
        # Only a transport failure after the request went out leaves the outcome open; 429/401/5xx were refused.
        maybe_sent = isinstance(exc, CmmsUnavailable) and exc.maybe_sent
        if remote_id is None and not sent_before and not maybe_sent:
            progress.data["sent"] = False  # definitely never reached the CMMS: no search needed next time
        retry_after = exc.retry_after if isinstance(exc, CmmsRateLimited) else None
        when = next_attempt_at(
            now,
            attempts,
            retry_after=retry_after,
            rand=self._rand,
            base_s=self._settings.backoff_base_s,
            cap_s=self._settings.backoff_cap_s,
        )
        await self._save(
            row.id,
            now,
            attempts=attempts,
            last_error=error,
            next_attempt_at=when,
            locked_until=None,
            progress=dict(progress.data),
        )
        log.warning("cmms delivery of %s failed (attempt %d), next at %s: %s", row.key, attempts, when, error)
        return report("queued-retry", attempts=attempts, remote_id=remote_id, next_attempt_at=when, error=error)


class _Reporter:
    """Builds reports for one row without repeating its identity fields."""

    def __init__(self, row: OutboxRow) -> None:
        self._row = row

    def __call__(self, status: ReportStatus, *, attempts: int, **fields: Any) -> DeliveryReport:
        row = self._row
        return DeliveryReport(
            entry_id=row.id,
            key=row.key,
            status=status,
            chat_id=row.chat_id,
            message_id=row.message_id,
            reporter_id=row.reporter_id,
            title=row.title,
            attempts=attempts,
            **fields,
        )
