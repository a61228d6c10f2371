"""``FleetRunner`` as the ``UpdateRunner`` handlers and recovery talk to (bot/updates/runner.py), on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Update

from bot.fleet import queue as jobs
from bot.fleet.runner import FleetRunner
from bot.updates import inbox
from tests.fakes.telegram import FakeTelegram


async def test_a_replayed_update_becomes_a_job_in_its_chats_order_with_its_status_message(
    pg_url: str, pg_sessions: async_sessionmaker[AsyncSession]
) -> None:
    payload = FakeTelegram().send_text(42, "hello")
    async with pg_sessions.begin() as session:
        await inbox.accept(
            session, update_id=payload["update_id"], chat_id=42, kind="message", payload=payload, now=datetime.now(UTC)
        )
    queue = jobs.make_queue(pg_url, pool_size=1)
    runner = FleetRunner(queue)
    runner.bind(pg_sessions)
    async with queue.open_async():
        await runner.replay(Update.de_json(payload, None), status_message_id=7)
    async with pg_sessions() as session:
        found = (await session.execute(text("SELECT task_name, lock FROM procrastinate_jobs"))).all()
        status = await session.scalar(text("SELECT status_message_id FROM update_inbox"))
    assert found == [(jobs.UPDATE_TASK, "chat:42")]
    assert status == 7


async def test_keep_open_marks_the_update_done_only_when_finished(
    pg_sessions: async_sessionmaker[AsyncSession],
) -> None:
    payload = FakeTelegram().send_text(42, "hello")
    async with pg_sessions.begin() as session:
        await inbox.accept(
            session, update_id=payload["update_id"], chat_id=42, kind="message", payload=payload, now=datetime.now(UTC)
        )
    runner = FleetRunner(jobs.make_queue("postgresql://unused/none"))
    runner.bind(pg_sessions)
    finish = runner.keep_open(payload["update_id"])

    async def done() -> bool:
        async with pg_sessions() as session:
            return bool(await session.scalar(text("SELECT done FROM update_inbox")))

    assert not await done()
    await finish()
    assert await done()
