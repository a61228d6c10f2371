"""State every worker of a fleet must see the same way, kept in PostgreSQL (tables of ``fleet_state``).

* ``PgBreakers`` (pipeline's ``BreakerStore``): a tier's opening — a 429's Retry-After, a rejected key, a laptop
  that does not answer — as ``open_until`` on the database's clock. Openings only lengthen
  (``GREATEST``); a worker's start clears the admin problems, since a restart is how a fixed key is deployed.
* ``PgTierSlots`` (pipeline's ``TierSlots``): N leases per tier. A call takes a free or expired lease with one
  ``UPDATE … WHERE (tier, slot) = (SELECT … FOR UPDATE SKIP LOCKED)`` and gives it back after; a worker that dies
  holding one loses it when the lease (longer than any call) expires. No connection is held during the call.
* ``SharedRate``: Telegram's ~30 messages/s per bot, as a token bucket in one conditional UPDATE that refills
  by elapsed time and takes a token only when one is there; python-telegram-bot's own limiter still runs after
  it (per chat, and its retry on a 429).
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat.status import RateBudget
from pipeline.shared import Release

log = logging.getLogger(__name__)


class PgBreakers:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def seconds_left(self, tier: str) -> float:
        try:
            return await self._seconds_left(tier)
        except Exception:  # the database is the fleet's: without it, analyses go on as if each worker were alone
            log.warning("could not read the breaker of tier %s; calling it", tier, exc_info=True)
            return 0.0

    async def _seconds_left(self, tier: str) -> float:
        async with self._sessions() as session:
            left = await session.scalar(
                text(
                    "SELECT GREATEST(0, EXTRACT(EPOCH FROM open_until - clock_timestamp())) "
                    "FROM fleet_breakers WHERE tier = :tier"
                ),
                {"tier": tier},
            )
        return float(left or 0.0)

    async def open(self, tier: str, seconds: float, problem: str | None) -> None:
        try:
            await self._open(tier, seconds, problem)
        except Exception:  # this worker's own breaker is open anyway
            log.warning("could not share the opening of tier %s", tier, exc_info=True)

    async def _open(self, tier: str, seconds: float, problem: str | None) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                text(
                    "INSERT INTO fleet_breakers (tier, open_until, problem) "
                    "VALUES (:tier, clock_timestamp() + make_interval(secs => :seconds), :problem) "
                    "ON CONFLICT (tier) DO UPDATE SET "
                    "open_until = GREATEST(fleet_breakers.open_until, EXCLUDED.open_until), "
                    "problem = COALESCE(EXCLUDED.problem, fleet_breakers.problem)"
                ),
                {"tier": tier, "seconds": seconds, "problem": problem},
            )

    async def clear_admin_problems(self) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(text("DELETE FROM fleet_breakers WHERE problem IS NOT NULL"))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class PgTierSlots:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, per_tier: int, lease_s: float, poll_s: float = 0.05
    ) -> None:
        self._sessions = sessions
        self._per_tier = per_tier
        self._lease_s = lease_s
        self._poll_s = poll_s
        self._made: set[str] = set()

    async def acquire(self, tier: str, wait_s: float) -> Release | None:
        if self._per_tier <= 0:  # no cap configured
            return _nothing
        try:
            return await self._acquire(tier, wait_s)
        except Exception:  # no cap rather than no analysis while the database is away
            log.warning("could not take a call slot of tier %s; calling without one", tier, exc_info=True)
            return _nothing

    async def _acquire(self, tier: str, wait_s: float) -> Release | None:
        await self._make(tier)
        holder = secrets.token_hex(8)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, wait_s)
        pause = self._poll_s
        while True:
            slot = await self._take(tier, holder)
            if slot is not None:
                return self._release(tier, slot, holder)
            if loop.time() + pause > deadline:
                return None
            # every slot is in a call elsewhere; calls take seconds, so a short backed-off poll is cheap
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)

    async def _make(self, tier: str) -> None:
        if tier in self._made:
            return
        async with self._sessions.begin() as session:
            await session.execute(
                text(
                    "INSERT INTO fleet_tier_slots (tier, slot) SELECT :tier, generate_series(0, :count - 1) "
                    "ON CONFLICT DO NOTHING"
                ),
                {"tier": tier, "count": self._per_tier},
            )
        self._made.add(tier)

    async def _take(self, tier: str, holder: str) -> int | None:
        async with self._sessions.begin() as session:
            slot = await session.scalar(
                text(
                    "UPDATE fleet_tier_slots SET holder = :holder, "
                    "lease_until = clock_timestamp() + make_interval(secs => :lease) "
                    "WHERE (tier, slot) = (SELECT tier, slot FROM fleet_tier_slots "
                    "  WHERE tier = :tier AND slot < :count "
                    "  AND (lease_until IS NULL OR lease_until < clock_timestamp()) "
                    "  ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED) "
                    "RETURNING slot"
                ),
                {"tier": tier, "holder": holder, "lease": self._lease_s, "count": self._per_tier},
            )
        return int(slot) if slot is not None else None

    def _release(self, tier: str, slot: int, holder: str) -> Release:
        async def release() -> None:
            try:
                async with self._sessions.begin() as session:
                    await session.execute(
                        text(
                            "UPDATE fleet_tier_slots SET lease_until = NULL, holder = NULL "
                            "WHERE tier = :tier AND slot = :slot AND holder = :holder"
                        ),
                        {"tier": tier, "slot": slot, "holder": holder},
                    )
            except Exception:  # the lease expires on its own
                log.warning("could not give back slot %s of tier %s", slot, tier, exc_info=True)

        return release


async def _nothing() -> None:
    return None


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved; ``take()`` waits for one. Shared through one row."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], name: str, *, rate: float, burst: float) -> None:
        self._sessions, self._name, self._rate, self._burst = sessions, name, rate, burst
        self._made = False

    async def take(self) -> None:
        try:
            await self._take()
        except Exception:  # python-telegram-bot's own limiter and its 429 handling still apply
            log.warning("could not take a token from bucket %s", self._name, exc_info=True)

    async def _take(self) -> None:
        if not self._made:
            async with self._sessions.begin() as session:
                await session.execute(
                    text(
                        "INSERT INTO fleet_buckets (name, tokens, updated_at) "
                        "VALUES (:name, :burst, clock_timestamp()) ON CONFLICT DO NOTHING"
                    ),
                    {"name": self._name, "burst": self._burst},
                )
            self._made = True
        # the bucket says how long until its next token; other workers may take it first, so ask again then
        while (wait := await self._try()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait)

    async def _try(self) -> float:
        """0 when a token was taken, else the seconds until one will be there."""
        refilled = "LEAST(:burst, tokens + EXTRACT(EPOCH FROM clock_timestamp() - updated_at) * :rate)"
        params = {"name": self._name, "rate": self._rate, "burst": self._burst}
        async with self._sessions.begin() as session:
            taken = await session.scalar(
                text(
                    f"UPDATE fleet_buckets SET tokens = {refilled} - 1, updated_at = clock_timestamp() "
                    f"WHERE name = :name AND {refilled} >= 1 RETURNING tokens"
                ),
                params,
            )
            if taken is not None:
                return 0.0
            have = await session.scalar(text(f"SELECT {refilled} FROM fleet_buckets WHERE name = :name"), params)
        return max(0.001, (1.0 - float(have or 0.0)) / self._rate)


class SharedRate(RateBudget):
    """python-telegram-bot's limiter, after a token from the fleet's bucket for every call naming a chat."""

    def __init__(self, bucket: TokenBucket, *, messages_per_s: float) -> None:
        super().__init__(messages_per_s=messages_per_s)
        self._bucket = bucket

    async def take_turn(self, lane: int) -> None:
        await self._bucket.take()
        await super().take_turn(lane)


class SharedUserRate:
    """``PHOTOS_PER_MINUTE`` for the whole fleet: a token bucket per user in ``fleet_buckets`` (``per_minute``
    tokens, refilled at ``per_minute`` a minute), taken in one conditional upsert. Like the in-memory window it
    allows ``per_minute`` at once, then one every ``60 / per_minute`` seconds. If the database fails the request
    is let through: the daily budget still guards the money."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], per_minute: int) -> None:
        self._sessions, self.per_minute = sessions, per_minute

    async def check(self, user_id: int) -> float | None:
        if self.per_minute <= 0:
            return None
        rate = self.per_minute / 60.0
        refilled = (
            "LEAST(:burst, fleet_buckets.tokens + "
            "EXTRACT(EPOCH FROM clock_timestamp() - fleet_buckets.updated_at) * :rate)"
        )
        params = {"name": f"user:{user_id}", "rate": rate, "burst": float(self.per_minute)}
        try:
            async with self._sessions.begin() as session:
                taken = await session.scalar(
                    text(
                        "INSERT INTO fleet_buckets (name, tokens, updated_at) "
                        "VALUES (:name, :burst - 1, clock_timestamp()) "
                        f"ON CONFLICT (name) DO UPDATE SET tokens = {refilled} - 1, updated_at = clock_timestamp() "
                        f"WHERE {refilled} >= 1 RETURNING tokens"
                    ),
                    params,
                )
                if taken is not None:
                    return None
                have = await session.scalar(text(f"SELECT {refilled} FROM fleet_buckets WHERE name = :name"), params)
        except Exception:
            log.warning("could not check the photo rate of user %s; letting it through", user_id, exc_info=True)
            return None
        return max(0.001, (1.0 - float(have or 0.0)) / rate)


async def purge_user_buckets(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Forget users' buckets idle for an hour (a full bucket and no row mean the same)."""
    async with sessions.begin() as session:
        result = await session.execute(
            text(
                "DELETE FROM fleet_buckets WHERE name LIKE 'user:%' "
                "AND updated_at < clock_timestamp() - interval '1 hour'"
            )
        )
    return int(getattr(result, "rowcount", 0) or 0)
