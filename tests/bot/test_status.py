"""ProgressEdits' policy without racing a clock: which progress lines reach the status message."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from telegram import Message

from bot.chat.status import ROOM, ProgressEdits, RateBudget


class FakeBot:
    def __init__(self, limiter: Any = None) -> None:
        self.rate_limiter = limiter


class FakeStatus:
    """The two things ProgressEdits uses of a status Message: ``edit_text`` and ``get_bot``."""

    def __init__(self, bot: FakeBot | None = None, *, edit_takes: asyncio.Event | None = None) -> None:
        self.edits: list[str] = []
        self.edited = asyncio.Event()
        self.started = asyncio.Event()
        self._bot = bot or FakeBot()
        self._edit_takes = edit_takes

    def get_bot(self) -> FakeBot:
        return self._bot

    async def edit_text(self, text: str, reply_markup: Any = None) -> None:
        self.started.set()
        if self._edit_takes is not None:
            await self._edit_takes.wait()
        self.edits.append(text)
        self.edited.set()


def progress(status: FakeStatus, slow_s: float) -> ProgressEdits:
    return ProgressEdits(cast(Message, status), slow_s=slow_s)


async def test_stages_shorter_than_the_threshold_cost_no_message() -> None:
    status = FakeStatus()
    edits = progress(status, slow_s=3600)
    for stage in ("🔎 Asking the local model…", "🔎 Asking Gemini…", "🔎 Writing up the result…"):
        await edits(stage)
        await asyncio.sleep(0)
    await edits.close()
    assert status.edits == []


async def test_a_slow_stage_is_shown_once() -> None:
    status = FakeStatus()
    edits = progress(status, slow_s=0)
    await edits("🔎 Asking Gemini…")
    await asyncio.wait_for(status.edited.wait(), 5)
    await edits("🔎 Asking Gemini…")  # the same text again: not sent twice
    await asyncio.sleep(0.01)
    await edits.close()
    assert status.edits == ["🔎 Asking Gemini…"]


async def test_only_the_newest_stage_is_ever_sent() -> None:
    status = FakeStatus()
    edits = progress(status, slow_s=3600)
    await edits("🔎 Asking the local model…")
    edits._slow_s = 0  # the newer stage turns slow; the older one was never shown and never will be
    await edits("🔎 Asking Gemini…")
    await asyncio.wait_for(status.edited.wait(), 5)
    await edits.close()
    assert status.edits == ["🔎 Asking Gemini…"]


async def test_no_progress_edit_while_the_rate_limiter_is_busy() -> None:
    limiter = RateBudget(messages_per_s=30)
    limiter.in_flight = ROOM  # answers and acknowledgements of other photos are queued: progress can wait
    status = FakeStatus(FakeBot(limiter))
    edits = progress(status, slow_s=0)
    await edits("🔎 Asking Gemini…")
    for _ in range(20):
        await asyncio.sleep(0)
    await edits.close()
    assert status.edits == []


async def test_close_lets_an_edit_in_flight_land_before_the_answer() -> None:
    release = asyncio.Event()
    status = FakeStatus(edit_takes=release)
    edits = progress(status, slow_s=0)
    await edits("🔎 Asking Gemini…")
    await asyncio.wait_for(status.started.wait(), 5)
    closing = asyncio.create_task(edits.close())
    await asyncio.sleep(0.01)
    assert not closing.done(), "close() must wait for the edit on the wire, or it could overwrite the card"
    release.set()
    await asyncio.wait_for(closing, 5)
    assert status.edits == ["🔎 Asking Gemini…"]
