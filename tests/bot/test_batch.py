"""Group commit (bot/updates/batch.py) and the inbox records it carries."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime.models import InboxUpdate
from bot.updates import ChatOrderedProcessor
from bot.updates.batch import Batch
from tests.bot.test_processor import message


class Writes:
    def __init__(self, *, fail: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.writing = asyncio.Event()
        self.fail = fail

    async def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(items)
        self.writing.set()
        await self.release.wait()
        if self.fail:
            raise OSError("disk full")
        return [item * 10 for item in items]


async def test_callers_of_one_moment_share_one_write_and_each_gets_its_own_result() -> None:
    writes = Writes()
    batch: Batch[int, int] = Batch(writes)
    assert await asyncio.gather(*(batch.submit(n) for n in range(5))) == [0, 10, 20, 30, 40]
    assert writes.batches == [[0, 1, 2, 3, 4]]


async def test_who_arrives_during_a_write_joins_the_next_one() -> None:
    writes = Writes()
    writes.release.clear()
    batch: Batch[int, int] = Batch(writes)
    first = asyncio.create_task(batch.submit(1))
    await writes.writing.wait()
    later = [asyncio.create_task(batch.submit(n)) for n in (2, 3)]
    await asyncio.sleep(0)
    writes.release.set()
    assert await first == 10 and [await t for t in later] == [20, 30]
    assert writes.batches == [[1], [2, 3]]


async def test_a_failed_write_fails_each_of_its_callers_and_the_next_batch_still_runs() -> None:
    writes = Writes(fail=True)
    batch: Batch[int, int] = Batch(writes)
    results = await asyncio.gather(batch.submit(1), batch.submit(2), return_exceptions=True)
    assert all(isinstance(r, OSError) for r in results)
    writes.fail = False
    assert await batch.submit(3) == 30


async def test_a_caller_that_gives_up_does_not_cancel_the_others_write() -> None:
    writes = Writes()
    writes.release.clear()
    batch: Batch[int, int] = Batch(writes)
    impatient = asyncio.create_task(batch.submit(1))
    patient = asyncio.create_task(batch.submit(2))
    await writes.writing.wait()
    impatient.cancel()
    writes.release.set()
    assert await patient == 20
    with pytest.raises(asyncio.CancelledError):
        await impatient


async def test_a_crowd_of_updates_is_recorded_in_a_few_transactions_and_a_duplicate_still_dropped(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    processor = ChatOrderedProcessor()

    async def enqueue(update: Any) -> None:
        raise AssertionError("no replays here")

    processor.bind(sessions, enqueue)
    ran: list[int] = []

    async def work(update_id: int) -> None:
        ran.append(update_id)

    commits: list[object] = []
    engine = sessions.kw["bind"].sync_engine

    def committed(conn: Any) -> None:
        commits.append(conn)

    event.listen(engine, "commit", committed)
    try:
        updates = [message(100 + n, 500 + n) for n in range(60)] + [message(100, 500)]  # the first one, twice
        await asyncio.gather(*(processor.process_update(u, work(u.update_id)) for u in updates))
    finally:
        event.remove(engine, "commit", committed)
    assert sorted(ran) == list(range(100, 160)), "each update once"
    accepts_and_finishes = len(commits)
    assert accepts_and_finishes <= 6, f"{accepts_and_finishes} transactions for 60 updates"
    async with sessions() as session:
        done = await session.scalar(select(func.count()).select_from(InboxUpdate).where(InboxUpdate.done.is_(True)))
    assert done == 60
