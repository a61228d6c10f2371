"""``ChatOrderedProcessor`` on its own (real inbox on SQLite, no Telegram): the order rules, and the pure rules of
recovery and of the user write."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Update

from bot.accounts.quota import TOUCH_EVERY, Profile, needs_touch
from bot.updates import ChatOrderedProcessor
from bot.updates.inbox import Interrupted
from bot.updates.recovery import should_replay


def message(update_id: int, chat_id: int) -> Update:
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": chat_id, "is_bot": False, "first_name": "T"},
                "text": "hi",
            },
        },
        None,
    )


async def test_chats_run_concurrently_each_in_order_and_a_duplicate_lets_nothing_overtake(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    processor = ChatOrderedProcessor()

    async def enqueue(update: Update) -> None:
        raise AssertionError("no replays here")

    processor.bind(sessions, enqueue)
    events: list[str] = []
    release_first = asyncio.Event()

    async def work(name: str, gate: asyncio.Event | None = None) -> None:
        events.append(f"{name} start")
        if gate is not None:
            await gate.wait()
        events.append(f"{name} end")

    # the same update twice at once: whichever copy the inbox records first runs, the other is dropped
    copies = [
        asyncio.create_task(processor.process_update(message(1, 10), work("a1", release_first))) for _ in range(2)
    ]
    second = asyncio.create_task(processor.process_update(message(2, 10), work("a2")))
    other = asyncio.create_task(processor.process_update(message(3, 20), work("b1")))
    await other
    await asyncio.wait(copies, return_when=asyncio.FIRST_COMPLETED)  # the dropped copy
    assert "b1 end" in events, "b1 ran while a1 waits"
    assert events.count("a1 start") == 1 and "a2 start" not in events, "a2 waits behind a1 and its duplicate"
    release_first.set()
    await asyncio.gather(*copies, second)
    assert events.count("a1 start") == 1
    assert events[-3:] == ["a1 end", "a2 start", "a2 end"]


async def test_let_chat_continue_lets_the_next_update_start_and_keep_open_defers_done(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    processor = ChatOrderedProcessor()

    async def enqueue(update: Update) -> None:
        pass

    processor.bind(sessions, enqueue)
    started = asyncio.Event()
    finish_later = asyncio.Event()

    async def album_head() -> None:
        processor.let_chat_continue(1)
        started.set()
        await finish_later.wait()

    async def album_item() -> None:
        assert started.is_set()
        done = processor.keep_open(2)
        finish_later.set()
        await done()

    head = asyncio.create_task(processor.process_update(message(1, 10), album_head()))
    await asyncio.wait_for(processor.process_update(message(2, 10), album_item()), timeout=5)
    await head


def entry(kind: str, attempts: int) -> Interrupted:
    return Interrupted(1, 42, kind, {}, attempts, None, None)


@pytest.mark.parametrize(
    ("kind", "attempts", "replay"),
    [("message", 1, True), ("message", 2, False), ("callback_query", 1, False), ("pre_checkout_query", 1, False)],
)
def test_should_replay(kind: str, attempts: int, replay: bool) -> None:
    assert should_replay(entry(kind, attempts)) is replay


NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
ANN = Profile("Ann", None, "en")


@pytest.mark.parametrize(
    ("known", "profile", "write"),
    [
        (None, ANN, True),
        ((ANN, NOW - timedelta(minutes=5)), ANN, False),
        ((ANN, NOW - TOUCH_EVERY), ANN, True),
        ((ANN, NOW), Profile("Ann B.", None, "en"), True),
        ((ANN, NOW), Profile("Ann", "ann", "en"), True),
        ((ANN, NOW), Profile("Ann", None, "de"), True),
    ],
)
def test_needs_touch(known: tuple[Profile, datetime] | None, profile: Profile, write: bool) -> None:
    assert needs_touch(known, profile, NOW) is write
