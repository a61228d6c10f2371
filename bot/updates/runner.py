"""The one interface handlers and recovery use to talk to whatever runs updates.

Embedded (the default): ``ChatOrderedProcessor``, python-telegram-bot's update processor, in this process, with
the inbox on SQLite. Fleet (next step): a Procrastinate task per update with ``lock="chat:<id>"`` on PostgreSQL.
Handlers and ``recovery`` never ask which one they run on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Update

from bot.updates import inbox

log = logging.getLogger(__name__)

Finish = Callable[[], Awaitable[None]]


class UpdateRunner(Protocol):
    def let_chat_continue(self, update_id: int) -> None:
        """The ordered part of this update is over: the chat's next update may start while its work goes on."""

    def keep_open(self, update_id: int) -> Finish:
        """The update's work outlives its handler; it is done (not recovered) only once ``Finish`` is awaited."""

    async def note_status(self, update_id: int, message_id: int) -> None:
        """The message telling the user about this update's work, to correct if the work is interrupted."""

    def resumed_status(self, update_id: int) -> int | None:
        """For an update run again after a crash: its status message from the first attempt (to edit, not resend)."""

    async def replay(self, update: Update, status_message_id: int | None) -> None:
        """Run an interrupted update again, in its chat's order, without the inbox dropping it as a redelivery."""


class InboxBookkeeping:
    """What both runners do the same way: an update held open past its handler (an album's first item answers
    for the others), and the status message noted for recovery. Each runner says how an update is finished."""

    _sessions: async_sessionmaker[AsyncSession] | None
    _kept: set[int]

    async def _finish(self, update_id: int) -> None:
        raise NotImplementedError

    def keep_open(self, update_id: int) -> Finish:
        self._kept.add(update_id)

        async def finish() -> None:
            self._kept.discard(update_id)
            await self._finish(update_id)

        return finish

    async def note_status(self, update_id: int, message_id: int) -> None:
        if self._sessions is None:
            return
        try:
            async with self._sessions.begin() as session:
                await inbox.note_status(session, update_id, message_id)
        except Exception:  # the answer matters more than recovering it
            log.warning("could not note the status message of update %s", update_id, exc_info=True)
