"""A photo's status message, spending Telegram's rate limit where it matters.

Telegram allows about 30 messages a second per bot across chats, edits included, so messages per photo decide how
fast a crowd is served (``RateBudget`` is PTB's ``AIORateLimiter`` with a gauge of calls in flight). The budget
goes, in order, to:

1. **the answer** — a photo answered from the cache before ``ACK_AFTER_S`` gets the card as its *only* message
   (``StatusLine.first``);
2. **the acknowledgement** — sent as soon as the photo turns out to need a model, or after ``ACK_AFTER_S``;
3. **progress edits** — only for a stage that has lasted ``SLOW_STAGE_S`` while the limiter has room; only the
   newest stage is ever shown, a stale one is dropped unsent (``ProgressEdits``).

Across users, a command's reply goes before a crowd's photo messages (``bot.chat.lanes``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, TelegramError
from telegram.ext import AIORateLimiter

from bot.chat.lanes import LANE, PriorityLimiter, first_message

log = logging.getLogger(__name__)

# A photo that needs a model is acknowledged as soon as the cache says so; this is only for a slow download or
# lookup. Long enough that a cache hit in a crowd is still answered with its card alone: among 60 photos at once
# the last hit reached its card after ~0.9 s (``bench crowd``, BENCHMARKS §5); with 0.5 s most hits got two messages
# and the 120 messages of 60 hits took four seconds of Telegram's rate.
ACK_AFTER_S = 1.0
SLOW_STAGE_S = 1.0  # a stage shorter than this is not worth a message
ROOM = 10  # calls in flight (queued in the limiter or on the wire) below which a progress edit may go


class RateBudget(AIORateLimiter):
    """``AIORateLimiter`` whose overall rate is spent by lane (``bot.chat.lanes``: a command's reply before a
    crowd's photo messages), and that can say whether it has room for an optional call. PTB's limiter keeps the
    rest: 20 messages a minute per group, and waiting out a 429's ``retry_after``."""

    def __init__(self, *, messages_per_s: float, max_retries: int = 2) -> None:
        super().__init__(overall_max_rate=0, overall_time_period=1, max_retries=max_retries)  # 0: ours, below
        self._overall = PriorityLimiter(messages_per_s)
        self.in_flight = 0

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        self.in_flight += 1
        try:
            if data.get("chat_id") is not None and not data.get("allow_paid_broadcast"):  # as AIORateLimiter
                await self.take_turn(LANE.get())
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        finally:
            self.in_flight -= 1

    async def take_turn(self, lane: int) -> None:
        """Wait for a slot of the overall rate (a fleet worker also takes one from the fleet's bucket)."""
        await self._overall.acquire(lane)

    def has_room(self) -> bool:
        return self.in_flight < ROOM

    @property
    def waiting(self) -> int:
        """Calls waiting for a slot of the overall rate."""
        return self._overall.waiting


def has_room(bot: Bot) -> bool:
    limiter = getattr(bot, "rate_limiter", None)
    return limiter.has_room() if isinstance(limiter, RateBudget) else True


async def edit(message: Message, text: str, reply_markup: InlineKeyboardMarkup | None = None) -> None:
    try:
        await message.edit_text(text, reply_markup=reply_markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


class StatusLine:
    """The status message of one piece of work, sent on first need: by ``message()`` (the acknowledgement), by
    the ``acknowledge_after`` timer, or by ``first()``/``show()`` when the answer itself is the first message."""

    def __init__(
        self,
        origin: Message | None,
        *,
        message: Message | None = None,
        ack_text: str = "🔎 Analyzing…",
        on_ack: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        assert origin is not None or message is not None
        self._origin, self._message, self._ack_text, self._on_ack = origin, message, ack_text, on_ack
        self._lock = asyncio.Lock()  # one sender at a time: never two first messages
        self._timer: asyncio.Task[None] | None = None

    @property
    def sent(self) -> Message | None:
        return self._message

    def acknowledge_after(self, seconds: float) -> None:
        async def later() -> None:
            await asyncio.sleep(seconds)
            try:
                await self.message()
            except TelegramError:
                log.warning("could not send the acknowledgement", exc_info=True)

        self._timer = asyncio.create_task(later())

    async def message(self) -> Message:
        """The status message, sending the acknowledgement now if it has not gone yet."""
        async with self._lock:
            if self._message is None:
                assert self._origin is not None
                with first_message():
                    self._message = await self._origin.reply_text(self._ack_text)
                if self._on_ack is not None:
                    await self._on_ack(self._message.message_id)
            return self._message

    async def first(self, text: str, reply_markup: InlineKeyboardMarkup | None = None) -> Message | None:
        """Send ``text`` as the first message and return it; None when a status message exists already."""
        async with self._lock:
            self.close()  # holding the lock: the timer is asleep or waiting for it, never mid-send
            if self._message is not None:
                return None
            assert self._origin is not None
            with first_message():
                self._message = await self._origin.reply_text(text, reply_markup=reply_markup)
            return self._message

    async def show(self, text: str, reply_markup: InlineKeyboardMarkup | None = None) -> None:
        """A final text (an error, a refusal): the first message, or the status message edited to it."""
        if await self.first(text, reply_markup) is None:
            assert self._message is not None
            await edit(self._message, text, reply_markup)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class ProgressEdits:
    """Progress for one status message: the newest stage's text, shown once it has lasted ``slow_s`` and the
    limiter has room. ``close()`` before the answer, so a late progress edit can never overwrite it."""

    def __init__(self, status: Message, *, slow_s: float = SLOW_STAGE_S) -> None:
        self._status, self._slow_s = status, slow_s
        self._text: str | None = None
        self._since = 0.0
        self._shown: str | None = None
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sending = False
        self._closed = False

    async def __call__(self, text: str) -> None:
        self._text, self._since = text, time.monotonic()
        self._changed.set()
        if self._task is None and not self._closed:
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while not self._closed:
            self._changed.clear()
            wait = self._since + self._slow_s - time.monotonic()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), wait)  # a newer stage restarts the clock
                continue
            text = self._text
            if text is not None and text != self._shown and has_room(self._status.get_bot()):
                self._sending = True
                try:
                    await edit(self._status, text)
                    self._shown = text
                except TelegramError:
                    log.info("progress edit not sent", exc_info=True)
                finally:
                    self._sending = False
            await self._changed.wait()  # nothing to do until the next stage

    async def close(self) -> None:
        self._closed = True
        task, self._task = self._task, None
        if task is None:
            return
        if self._sending:
            self._changed.set()
            await task  # let the edit in flight land before the answer
        else:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
