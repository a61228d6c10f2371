"""The update inbox: one ``update_inbox`` row per Telegram update, written before the update is acted on.

Recording first is what makes the rest possible: a redelivered update (Telegram retries a webhook until it gets a
2xx, and long polling re-sends whatever was not confirmed before a crash) finds its row and is dropped; an update
whose row is not ``done`` at start-up was interrupted, and the row holds what recovery needs — the update itself,
the status message to correct, and the free photo it had reserved (set in the same transaction as the
reservation, cleared in the same transaction as its release, so the two can never disagree).

Plain SQL that SQLite and PostgreSQL both run; every write is one statement keyed by ``update_id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime.models import InboxUpdate
from pipeline.models import upsert_insert


@dataclass(frozen=True)
class Interrupted:
    """An accepted update whose work did not finish (the process died)."""

    update_id: int
    chat_id: int | None
    kind: str
    payload: dict[str, Any]
    attempts: int
    status_message_id: int | None
    quota_user_id: int | None
    question_user_id: int | None = None  # with question_day: a free question it had taken
    question_day: date | None = None

    @classmethod
    def of(cls, row: InboxUpdate) -> Interrupted:
        return cls(
            row.update_id, row.chat_id, row.kind, dict(row.payload), row.attempts, row.status_message_id,
            row.quota_user_id, row.question_user_id, row.question_day,
        )  # fmt: skip


async def accept(
    session: AsyncSession, *, update_id: int, chat_id: int | None, kind: str, payload: dict[str, Any], now: datetime
) -> bool:
    """Record the update; False when it was recorded before (a redelivery)."""
    return (await accept_many(session, [Arrival(update_id, chat_id, kind, payload)], now))[0]


@dataclass(frozen=True)
class Arrival:
    update_id: int
    chat_id: int | None
    kind: str
    payload: dict[str, Any]


async def accept_many(session: AsyncSession, arrivals: list[Arrival], now: datetime) -> list[bool]:
    """``accept`` for several updates in one statement; per arrival, in order, False for a redelivery (also for
    the second copy of an update that arrives twice in the same batch)."""
    first: dict[int, Arrival] = {}
    for arrival in arrivals:
        first.setdefault(arrival.update_id, arrival)
    insert = upsert_insert(session)
    rows = [
        {
            "update_id": a.update_id,
            "chat_id": a.chat_id,
            "kind": a.kind[:16],
            "payload": a.payload,
            "done": False,
            "attempts": 1,
            "accepted_at": now,
        }
        for a in first.values()
    ]
    inserted = set(
        await session.scalars(
            insert(InboxUpdate)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["update_id"])
            .returning(InboxUpdate.update_id)  # not rowcount: psycopg reports -1 for DO NOTHING (SCALE-FACTS)
        )
    )
    fresh: list[bool] = []
    for arrival in arrivals:
        fresh.append(arrival.update_id in inserted and first.get(arrival.update_id) is arrival)
    return fresh


# What an attempt holds for recovery to give back; cleared when it is done or handed to a new attempt.
NOTHING_HELD: dict[str, None] = {"quota_user_id": None, "question_user_id": None, "question_day": None}


async def finish_many(session: AsyncSession, update_ids: list[int], now: datetime) -> None:
    """``finish`` for several updates in one statement."""
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id.in_(update_ids))
        .values(done=True, finished_at=now, **NOTHING_HELD)
        .execution_options(synchronize_session=False)
    )


async def finish(session: AsyncSession, update_id: int, now: datetime) -> None:
    """The update's work is over (answered, refused or failed with the user told): nothing left to recover."""
    await finish_many(session, [update_id], now)


async def note_status(session: AsyncSession, update_id: int, message_id: int) -> None:
    """The message that tells the user this update's progress; recovery corrects it if the work is cut short."""
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id)
        .values(status_message_id=message_id)
        .execution_options(synchronize_session=False)
    )


async def hold_quota(session: AsyncSession, update_id: int, user_id: int | None) -> None:
    """Call in the transaction that reserves (user id) or releases (None) the update's free photo."""
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id)
        .values(quota_user_id=user_id)
        .execution_options(synchronize_session=False)
    )


async def hold_question(session: AsyncSession, update_id: int, user_id: int | None, day: date | None) -> None:
    """Call in the transaction that takes (user, day) or gives back (None, None) the update's free question."""
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id)
        .values(question_user_id=user_id, question_day=day)
        .execution_options(synchronize_session=False)
    )


async def interrupted(session: AsyncSession, *, accepted_before: datetime) -> list[Interrupted]:
    """Updates accepted before ``accepted_before`` (this process's start) and never finished, oldest first."""
    rows = await session.scalars(
        select(InboxUpdate)
        .where(InboxUpdate.done.is_(False), InboxUpdate.accepted_at < accepted_before)
        .order_by(InboxUpdate.update_id)
    )
    return [Interrupted.of(r) for r in rows]


async def retry(session: AsyncSession, update_id: int, now: datetime) -> None:
    """Count one more attempt and take the row as accepted by this process (so it is not recovered twice)."""
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id)
        .values(attempts=InboxUpdate.attempts + 1, accepted_at=now, **NOTHING_HELD)
        .execution_options(synchronize_session=False)
    )


async def purge(session: AsyncSession, *, finished_before: datetime) -> int:
    """Forget finished updates once no redelivery can come (Telegram keeps undelivered updates 24 h)."""
    result = await session.execute(
        delete(InboxUpdate).where(InboxUpdate.done.is_(True), InboxUpdate.finished_at < finished_before)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
