"""The fleet runner: ``UpdateRunner`` for updates that arrive as Procrastinate jobs.

Ordering is the queue's (``lock="chat:<id>"``): a job holds its chat until it returns, so ``let_chat_continue``
has nothing to release — an album's later items never need to get in, the album job collected them from the
inbox before it started (``bot/fleet/albums.py``). The inbox row was written by the ingress; the job marks it
done when its handlers return, or later when ``keep_open``'s finisher runs.

A worker killed mid-update leaves its job ``doing``; the periodic stalled-job check on another worker puts it
back (``retry_stalled`` in ``bot/fleet/tasks.py``) and ``run`` then does what start-up recovery does for the
embedded bot: the free photo the dead attempt had reserved is given back, the update runs again once (its status
message edited, not resent), and a second interruption is told to the user instead of tried a third time.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import procrastinate
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Update
from telegram.ext import Application

from bot.fleet import queue as jobs
from bot.runtime.models import InboxUpdate
from bot.updates import inbox
from bot.updates.inbox import Interrupted
from bot.updates.processor import chat_key
from bot.updates.recovery import settle, tell
from bot.updates.runner import InboxBookkeeping

log = logging.getLogger(__name__)


class FleetRunner(InboxBookkeeping):
    def __init__(self, queue: procrastinate.App) -> None:
        self._queue = queue
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._kept: set[int] = set()
        self._resumed: dict[int, int | None] = {}

    def bind(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        assert self._sessions is not None, "bind() first"
        return self._sessions

    # -- UpdateRunner ---------------------------------------------------------------------------------
    def let_chat_continue(self, update_id: int) -> None:
        """Nothing to release: the chat's lock is the job's, and album items were collected before it ran."""

    def resumed_status(self, update_id: int) -> int | None:
        return self._resumed.get(update_id)

    async def replay(self, update: Update, status_message_id: int | None) -> None:
        """A new job for the update, in its chat's order; it runs as resumed (its inbox row counts attempts).
        The fleet's own interrupted jobs need none: the queue retries them and ``run`` resumes them."""
        async with self.sessions.begin() as session:
            if status_message_id is not None:
                await inbox.note_status(session, update.update_id, status_message_id)
            await jobs.defer_update(self._queue, session, update.update_id, chat_key(update))

    # -- jobs -------------------------------------------------------------------------------------------
    async def run(
        self,
        application: Application,  # type: ignore[type-arg]
        update_id: int,
        *,
        retried: bool,
        done_with: tuple[int, ...] = (),
    ) -> None:
        """Run one recorded update through the application's handlers; ``done_with``: album items it answers."""
        async with self.sessions() as session:
            row = await session.get(InboxUpdate, update_id)
        if row is None or row.done:
            log.info("update %s is unknown or done; job skipped", update_id)
            return
        if retried:
            if not await self._resume(application, row):
                return
        elif row.attempts > 1:  # replayed: its earlier attempt's status message is edited, not sent again
            self._resumed[update_id] = row.status_message_id
        update = Update.de_json(dict(row.payload), application.bot)
        try:
            await application.process_update(update)
        finally:
            self._resumed.pop(update_id, None)
            if update_id not in self._kept:
                await self._finish(update_id, *done_with)

    async def _resume(self, application: Application, row: InboxUpdate) -> bool:  # type: ignore[type-arg]
        """The job ran before on a worker that died: give back its free photo or question; True to run it again."""
        entry = Interrupted.of(row)
        async with self.sessions.begin() as session:
            replay = await settle(session, entry, datetime.now(UTC))
        log.warning("update %s was interrupted on another worker: %s", row.update_id, "run again" if replay else "told")
        if replay:
            self._resumed[row.update_id] = row.status_message_id
            return True
        if entry.chat_id is not None:
            await tell(application.bot, entry, self.sessions)
        return False

    async def _finish(self, *update_ids: int) -> None:
        try:
            async with self.sessions.begin() as session:
                await inbox.finish_many(session, list(update_ids), datetime.now(UTC))
        except Exception:
            log.exception("could not mark updates %s done", update_ids)


async def pending_rows(sessions: async_sessionmaker[AsyncSession], chat_id: int) -> list[InboxUpdate]:
    async with sessions() as session:
        rows = await session.scalars(
            select(InboxUpdate)
            .where(InboxUpdate.chat_id == chat_id, InboxUpdate.done.is_(False), InboxUpdate.kind == "message")
            .order_by(InboxUpdate.update_id)
        )
        return list(rows)
