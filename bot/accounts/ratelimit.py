"""Photos per minute per user: a paid plan is unlimited in count, not in speed.

A runaway script on one account must not be able to spend the day's budget in minutes. ``RateLimiter`` keeps
each user's recent request times (a sliding window, in memory: the limit protects a budget for the next
minutes, it need not survive a restart) and answers how long to wait. Pure apart from its dictionary; the
clock is passed in. Admins are not limited (they are the ones who set budgets).

The handlers ask through ``UserRate``: in one process the in-memory window; in a fleet a bucket per user in
PostgreSQL (``bot.fleet.shared.SharedUserRate``), or a user would get the limit once per worker.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Protocol

from bot.i18n import Translator

WINDOW_S = 60.0


class UserRate(Protocol):
    per_minute: int

    async def check(self, user_id: int) -> float | None:
        """None and the request is counted, or the seconds until this user may send again."""


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._recent: dict[int, deque[float]] = {}

    def retry_after(self, user_id: int, now: float) -> float | None:
        """None and the request is counted, or the seconds until this user may send again."""
        if self.per_minute <= 0:
            return None  # 0 switches the limit off
        recent = self._recent.setdefault(user_id, deque())
        while recent and recent[0] <= now - WINDOW_S:
            recent.popleft()
        if len(recent) >= self.per_minute:
            return recent[0] + WINDOW_S - now
        recent.append(now)
        if len(self._recent) > 10_000:  # forget idle users so the map stays small
            for uid in [u for u, times in self._recent.items() if not times or times[-1] <= now - WINDOW_S]:
                del self._recent[uid]
        return None

    async def check(self, user_id: int) -> float | None:
        return self.retry_after(user_id, time.monotonic())


def too_fast(tr: Translator, per_minute: int, wait_s: float) -> str:
    return tr.gettext(
        "⏳ That is more than {n} photos a minute. Please wait {s} s and send it again; nothing was charged for "
        "this one.",
        n=per_minute,
        s=max(1, round(wait_s)),
    )
