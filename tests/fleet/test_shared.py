"""The fleet's shared state on PostgreSQL (bot/fleet/shared.py): several instances stand for several workers."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.fleet.shared import PgBreakers, PgTierSlots, SharedRate, SharedUserRate, TokenBucket, purge_user_buckets
from bot.runtime.db import make_engine, make_sessionmaker


async def test_a_breaker_opened_by_one_worker_is_seen_by_another(pg_sessions: async_sessionmaker[AsyncSession]) -> None:
    one, other = PgBreakers(pg_sessions), PgBreakers(pg_sessions)
    assert await other.seconds_left("gemini") == 0
    await one.open("gemini", 120, None)
    assert 100 < await other.seconds_left("gemini") <= 120
    assert await other.seconds_left("claude") == 0, "one tier's opening is not another's"


async def test_an_opening_is_never_shortened(pg_sessions: async_sessionmaker[AsyncSession]) -> None:
    breakers = PgBreakers(pg_sessions)
    await breakers.open("gemini", 600, None)
    await breakers.open("gemini", 5, None)  # a later, shorter failure elsewhere
    assert await breakers.seconds_left("gemini") > 500


async def test_a_restart_clears_admin_problems_but_not_rate_limits(
    pg_sessions: async_sessionmaker[AsyncSession],
) -> None:
    breakers = PgBreakers(pg_sessions)
    await breakers.open("claude", 3600, "key_rejected")
    await breakers.open("gemini", 60, None)
    assert await breakers.clear_admin_problems() == 1
    assert await breakers.seconds_left("claude") == 0, "the admin fixed the key and redeployed"
    assert await breakers.seconds_left("gemini") > 0, "a provider's Retry-After still holds"


async def test_when_the_database_fails_a_breaker_reads_closed(pg_url: str) -> None:
    from tests.fakes.http import free_port

    engine = make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")
    try:
        assert await PgBreakers(make_sessionmaker(engine)).seconds_left("gemini") == 0, "analyses go on"
    finally:
        await engine.dispose()


async def test_tier_slots_cap_calls_across_workers(pg_sessions: async_sessionmaker[AsyncSession]) -> None:
    one, other = (PgTierSlots(pg_sessions, per_tier=2, lease_s=300) for _ in range(2))
    first = await one.acquire("ollama", 0)
    second = await other.acquire("ollama", 0)
    assert first is not None and second is not None
    assert await one.acquire("ollama", 0) is None, "both slots are in calls"
    assert await other.acquire("gemini", 0) is not None, "each tier has its own slots"
    await first()
    assert await other.acquire("ollama", 0) is not None, "a finished call gives its slot back"


async def test_a_slot_held_by_a_dead_worker_frees_itself_when_its_lease_ends(
    pg_sessions: async_sessionmaker[AsyncSession],
) -> None:
    dead = PgTierSlots(pg_sessions, per_tier=1, lease_s=300)
    assert await dead.acquire("ollama", 0) is not None  # never released: the worker was killed
    async with pg_sessions.begin() as session:  # 300 s later
        await session.execute(text("UPDATE fleet_tier_slots SET lease_until = lease_until - interval '301 seconds'"))
    assert await PgTierSlots(pg_sessions, per_tier=1, lease_s=300).acquire("ollama", 0) is not None


async def test_no_cap_configured_means_no_slots(pg_sessions: async_sessionmaker[AsyncSession]) -> None:
    slots = PgTierSlots(pg_sessions, per_tier=0, lease_s=300)
    assert all([await slots.acquire("ollama", 0) for _ in range(5)])


async def test_the_token_bucket_is_shared_by_every_worker(pg_sessions: async_sessionmaker[AsyncSession]) -> None:
    rate = 1 / 3600  # one token an hour: nothing refills during the test
    one = TokenBucket(pg_sessions, "telegram", rate=rate, burst=3)
    other = TokenBucket(pg_sessions, "telegram", rate=rate, burst=3)
    await one.take()
    await other.take()
    await one.take()
    assert await other._try() > 3000, "three tokens spent across two workers: the next waits about an hour"


@pytest.mark.parametrize("spent", [0, 1])
async def test_a_bucket_refills_with_time(pg_sessions: async_sessionmaker[AsyncSession], spent: int) -> None:
    bucket = TokenBucket(pg_sessions, "telegram", rate=30, burst=1)
    await bucket.take()
    async with pg_sessions.begin() as session:  # a second passes
        await session.execute(text("UPDATE fleet_buckets SET updated_at = updated_at - interval '1 second'"))
    assert await bucket._try() == 0


async def test_only_calls_naming_a_chat_take_a_token(pg_sessions: async_sessionmaker[AsyncSession]) -> None:
    """Telegram's 30 msg/s counts messages to chats; getMe, getFile and the like pass freely."""
    bucket = TokenBucket(pg_sessions, "telegram", rate=1 / 3600, burst=2)
    rate = SharedRate(bucket, messages_per_s=1000)
    sent: list[str] = []

    async def call(endpoint: str, data: dict[str, object]) -> bool:
        sent.append(endpoint)
        return True

    for endpoint, data in (("sendMessage", {"chat_id": 42, "text": "hi"}), ("getMe", {})):
        await rate.process_request(
            callback=call, args=(endpoint, data), kwargs={}, endpoint=endpoint, data=data, rate_limit_args=None
        )
    assert sent == ["sendMessage", "getMe"]
    assert await bucket._try() == 0, "getMe left the second token"
    assert await bucket._try() > 3000


async def test_photos_per_minute_hold_across_workers(pg_sessions: async_sessionmaker[AsyncSession]) -> None:
    """PHOTOS_PER_MINUTE is the user's, not each worker's: three photos a minute on two workers is three."""
    one, other = SharedUserRate(pg_sessions, 3), SharedUserRate(pg_sessions, 3)
    assert [await w.check(42) for w in (one, other, one)] == [None, None, None]
    wait = await other.check(42)
    assert wait is not None and 15 < wait <= 20, "the next token in 60 / 3 s"
    assert await one.check(43) is None, "another user has a bucket of their own"
    assert await SharedUserRate(pg_sessions, 0).check(42) is None, "0 switches the limit off"


async def test_a_users_bucket_refills_and_idle_ones_are_forgotten(
    pg_sessions: async_sessionmaker[AsyncSession],
) -> None:
    rate = SharedUserRate(pg_sessions, 60)  # one a second
    for _ in range(60):
        assert await rate.check(7) is None
    assert await rate.check(7) is not None
    async with pg_sessions.begin() as session:  # a minute and more passes for user 7; user 8 was here long ago
        await session.execute(
            text("UPDATE fleet_buckets SET updated_at = updated_at - interval '61 seconds' WHERE name = 'user:7'")
        )
        await session.execute(
            text("INSERT INTO fleet_buckets VALUES ('user:8', 0, clock_timestamp() - interval '2 hours')")
        )
    assert await rate.check(7) is None, "refilled"
    assert await purge_user_buckets(pg_sessions) == 1
    async with pg_sessions() as session:
        names = set((await session.scalars(text("SELECT name FROM fleet_buckets"))).all())
    assert "user:8" not in names and "user:7" in names


async def test_when_the_database_fails_a_photo_is_let_through(pg_url: str) -> None:
    from tests.fakes.http import free_port

    engine = make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")
    try:
        assert await SharedUserRate(make_sessionmaker(engine), 1).check(42) is None, "the budget still guards"
    finally:
        await engine.dispose()
