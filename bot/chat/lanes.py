"""Telegram's overall message rate, spent by lane: what a user is waiting on in full goes before a photo's flow.

Telegram allows about 30 messages a second per bot across chats. With 60 photos in flight their acknowledgements
and cards fill that budget for two seconds or more; a technician who types /help meanwhile should not wait behind
them, because a command's reply is the whole answer and costs one message, while an acknowledgement is a
placeholder that a 33 ms delay does not hurt. So waiters are served by lane, then in order of arrival:

- ``INTERACTIVE`` (the default): command replies, button answers, anything not part of a photo's analysis;
- ``FIRST``: a photo's first message — its acknowledgement, or a cache hit's card — so a crowd is acknowledged
  before the first cards (edits of earlier acknowledgements) take the rate (``first_message()``);
- ``PHOTO``: the rest of a photo's flow — the card replacing the acknowledgement, progress edits — set by the
  photo handlers with ``LANE.set(PHOTO)`` (a context variable, so the update's own tasks inherit it).

``PriorityLimiter`` is a leaky bucket like aiolimiter's ``AsyncLimiter`` (``rate`` per second, bursts up to
``rate``), except that waiters are served by (lane, arrival) and a newcomer never overtakes someone waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Iterator
from contextvars import ContextVar

INTERACTIVE = 0
FIRST = 1
PHOTO = 2

LANE: ContextVar[int] = ContextVar("telegram_lane", default=INTERACTIVE)


@contextlib.contextmanager
def first_message() -> Iterator[None]:
    """Calls inside go in the ``FIRST`` lane (a photo's first message), unless they are ``INTERACTIVE`` already."""
    token = LANE.set(min(LANE.get(), FIRST))
    try:
        yield
    finally:
        LANE.reset(token)


class PriorityLimiter:
    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._rate = float(rate)
        self._level = 0.0  # messages in the bucket; it drains at ``rate`` per second and holds at most ``rate``
        self._last = 0.0
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> int:
        return sum(1 for _, _, future in self._waiting if not future.done())

    def _leak(self, now: float) -> None:
        self._level = max(0.0, self._level - (now - self._last) * self._rate)
        self._last = now

    async def acquire(self, lane: int = INTERACTIVE) -> None:
        loop = asyncio.get_running_loop()
        self._leak(loop.time())
        if self.waiting == 0 and self._level + 1 <= self._rate:
            self._level += 1
            return
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._waiting, (lane, next(self._arrivals), future))
        self._wake()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # granted, then cancelled before it was used
                self._level = max(0.0, self._level - 1)
            self._wake()
            raise

    def _wake(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        loop = asyncio.get_running_loop()
        self._leak(loop.time())
        while self._waiting:
            future = self._waiting[0][2]
            if future.done():  # cancelled while waiting
                heapq.heappop(self._waiting)
                continue
            if self._level + 1 > self._rate:
                break
            heapq.heappop(self._waiting)
            self._level += 1
            future.set_result(None)
        if self._waiting:
            self._timer = loop.call_at(self._last + (self._level + 1 - self._rate) / self._rate, self._wake)
