"""What processes calling the same tiers must share: an open breaker, and a cap on calls in flight per tier.

One process (the embedded bot) shares nothing: each ``TierCaller`` (``tiercall.py``) keeps its breakers in
memory and calls a tier as often as its own bound allows — ``LOCAL`` below. A fleet of workers
(``bot/fleet/shared.py``) keeps both in PostgreSQL, so a 429 with Retry-After seen by one worker is respected by
all, a rejected key costs one failed call fleet-wide rather than one per worker, and a plant's laptop gets at
most N calls however many workers run.

Kept to two small Protocols so the pipeline stays free of the bot and of any particular database schema.
Times are the store's own (the database's clock for PostgreSQL), never compared with the caller's monotonic
clock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

Release = Callable[[], Awaitable[None]]


class BreakerStore(Protocol):
    async def seconds_left(self, tier: str) -> float:
        """How long the tier is still to be skipped fleet-wide (0: it may be called)."""

    async def open(self, tier: str, seconds: float, problem: str | None) -> None:
        """Skip the tier everywhere for ``seconds`` (never shortening a longer opening); ``problem`` is the
        admin problem (a rejected key, a missing model), if any."""


class TierSlots(Protocol):
    async def acquire(self, tier: str, wait_s: float) -> Release | None:
        """A slot for one call to ``tier``, waiting at most ``wait_s``; None when every slot stayed taken."""


class _Local:
    """One process: the cascade's own breakers and bounds are all there is."""

    async def seconds_left(self, tier: str) -> float:
        return 0.0

    async def open(self, tier: str, seconds: float, problem: str | None) -> None:
        return None

    async def acquire(self, tier: str, wait_s: float) -> Release | None:
        return _release_nothing


async def _release_nothing() -> None:
    return None


LOCAL = _Local()
