"""The embedded runner: a python-telegram-bot ``BaseUpdateProcessor`` that runs chats concurrently, each chat's
updates in the order Telegram sent them, and records every update in the inbox before acting on it.

PTB hands each update to ``do_process_update`` as its own task, in ``getUpdates`` order. The first thing done —
synchronously, before any await — is to take the chat's place in line: the task's *turn* is chained after the
chat's previous turn. Then the update is recorded (a redelivery stops here; updates arriving together share one
transaction), waits for the previous turn, and runs. Its turn ends when its handler returns, or earlier when the
handler says ``let_chat_continue`` (an album that must let its own later items in while it collects them). A turn
never ends before the turn it follows, so a dropped duplicate cannot let a later update overtake an earlier one.

Updates with neither chat nor user (none today) run unordered. ``max_concurrent_updates`` bounds handlers in
flight across all chats; the heavy part of a photo has its own bound (``Services.slots``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.updates import inbox
from bot.updates.batch import Batch
from bot.updates.runner import InboxBookkeeping

log = logging.getLogger(__name__)

MAX_CONCURRENT_UPDATES = 512  # handlers waiting on I/O cost little; analyses are bounded separately


def chat_key(update: Update) -> int | None:
    """What orders an update: its chat, or its user for chat-less updates (inline buttons, pre-checkout)."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None


def kind_of(update: Update) -> str:
    for name in ("message", "callback_query", "pre_checkout_query", "edited_message", "my_chat_member"):
        if getattr(update, name, None) is not None:
            return name
    return "other"


@dataclass
class _Turn:
    turn: asyncio.Future[None]  # done when the chat's next update may start
    previous: asyncio.Future[None] | None  # the turn this one waits for
    key: int | None


class ChatOrderedProcessor(InboxBookkeeping, BaseUpdateProcessor):
    def __init__(
        self,
        max_concurrent_updates: int = MAX_CONCURRENT_UPDATES,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(max_concurrent_updates)
        self._clock = clock
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._enqueue: Callable[[Update], Awaitable[None]] | None = None
        self._tails: dict[int, asyncio.Future[None]] = {}  # chat → the newest turn in its line
        self._turns: dict[int, _Turn] = {}  # update → its place in its chat's line
        self._kept: set[int] = set()
        # update id → (the replayed Update object, its interrupted attempt's status message); matched by identity,
        # so a redelivery of the same id arriving meanwhile is still dropped as a duplicate
        self._replays: dict[int, tuple[Update, int | None]] = {}
        # a crowd's records share transactions (bot/updates/batch.py): 60 updates from one getUpdates, 1-3 writes
        self._accepts: Batch[inbox.Arrival, bool] = Batch(self._write_accepts)
        self._finishes: Batch[int, None] = Batch(self._write_finishes)

    def bind(self, sessions: async_sessionmaker[AsyncSession], enqueue: Callable[[Update], Awaitable[None]]) -> None:
        """Called from ``post_init`` once the database is ready (updates only arrive after it)."""
        self._sessions, self._enqueue = sessions, enqueue

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not isinstance(update, Update):
            await coroutine
            return
        update_id, key = update.update_id, chat_key(update)
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        previous = self._tails.get(key) if key is not None else None
        if key is not None:
            self._tails[key] = turn
        entry = _Turn(turn, previous, key)
        recorded: bool | None = False
        try:
            recorded = await self._accept(update, key)
            if recorded is None:
                log.info("update %s was delivered before; not processed again", update_id)
                _close(coroutine)
                return
            self._turns[update_id] = entry  # only the accepted copy: a duplicate shares its id
            if previous is not None:
                await previous
            await coroutine
        finally:
            if self._turns.get(update_id) is entry:
                del self._turns[update_id]
            self._end(entry)
            if recorded and update_id not in self._kept:
                await self._finish(update_id)

    # -- UpdateRunner ---------------------------------------------------------------------------------
    def let_chat_continue(self, update_id: int) -> None:
        entry = self._turns.get(update_id)
        if entry is not None:
            self._end(entry)

    def _end(self, entry: _Turn) -> None:
        """End a turn once the turn it follows has ended (idempotent)."""

        def end(_: object = None) -> None:
            if not entry.turn.done():
                entry.turn.set_result(None)
            if entry.key is not None and self._tails.get(entry.key) is entry.turn:
                del self._tails[entry.key]  # the chat's line is empty

        if entry.previous is None or entry.previous.done():
            end()
        else:
            entry.previous.add_done_callback(end)

    def resumed_status(self, update_id: int) -> int | None:
        replay = self._replays.get(update_id)
        return replay[1] if replay is not None else None

    async def replay(self, update: Update, status_message_id: int | None) -> None:
        assert self._enqueue is not None, "bind() first"
        self._replays[update.update_id] = (update, status_message_id)
        await self._enqueue(update)

    # -- inbox ------------------------------------------------------------------------------------------
    async def _accept(self, update: Update, key: int | None) -> bool | None:
        """True: recorded now; None: seen before (drop); False: not recorded (no database: process anyway)."""
        replay = self._replays.get(update.update_id)
        if replay is not None and replay[0] is update:
            return True  # recovery counted this attempt already
        if self._sessions is None:
            return False
        try:
            fresh = await self._accepts.submit(inbox.Arrival(update.update_id, key, kind_of(update), update.to_dict()))
        except Exception:  # a database hiccup must not cost the user their answer
            log.exception("could not record update %s; processing it unrecorded", update.update_id)
            return False
        return True if fresh else None

    async def _finish(self, update_id: int) -> None:
        self._replays.pop(update_id, None)
        if self._sessions is None:
            return
        try:
            await self._finishes.submit(update_id)
        except Exception:
            log.exception("could not mark update %s done", update_id)

    async def _write_accepts(self, arrivals: list[inbox.Arrival]) -> list[bool]:
        assert self._sessions is not None
        async with self._sessions.begin() as session:
            return await inbox.accept_many(session, arrivals, self._clock())

    async def _write_finishes(self, update_ids: list[int]) -> list[None]:
        assert self._sessions is not None
        async with self._sessions.begin() as session:
            await inbox.finish_many(session, update_ids, self._clock())
        return [None] * len(update_ids)


def _close(coroutine: Awaitable[Any]) -> None:
    close = getattr(coroutine, "close", None)
    if close is not None:
        close()  # never awaited on purpose: a duplicate
