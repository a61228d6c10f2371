"""The one interface handlers and recovery use to talk to whatever runs updates.

Embedded (the default): ``ChatOrderedProcessor``, python-telegram-bot's update processor, in this process, with
the inbox on SQLite. Fleet (next step): a Procrastinate task per update with ``lock="chat:<id>"`` on PostgreSQL.
Handlers and ``recovery`` never ask which one they run on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from telegram import Update

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
