"""Two pipelines standing for two processes, sharing what ``pipeline/shared.py`` says they must: an opened breaker
and a cap on calls per tier (the fleet keeps both in PostgreSQL, tests/fleet/test_shared.py; here an in-memory
store shows the pipeline's side, for photos and questions alike), and the near-duplicate index learning the
other's analyses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pipeline import NoTierAvailable, Pipeline, PriceTable, build_tiers
from pipeline import parse_cascade_names as names_of
from pipeline.shared import Release
from tests.conftest import make_photo
from tests.fakes.providers import FakeProviders, rate_limited, unauthorized


class SharedBreakers:
    """One dict for every pipeline: what PostgreSQL is to the fleet's workers."""

    def __init__(self) -> None:
        self.open_for: dict[str, float] = {}
        self.problems: dict[str, str | None] = {}

    async def seconds_left(self, tier: str) -> float:
        return self.open_for.get(tier, 0.0)

    async def open(self, tier: str, seconds: float, problem: str | None) -> None:
        self.open_for[tier] = max(self.open_for.get(tier, 0.0), seconds)
        self.problems[tier] = problem


class NoSlots:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def acquire(self, tier: str, wait_s: float) -> Release | None:
        self.asked.append(tier)
        return None


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as providers:
        yield providers


@pytest.fixture
async def made(fake: FakeProviders, sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[list[Pipeline]]:
    pipelines: list[Pipeline] = []
    yield pipelines
    for pipeline in pipelines:
        await pipeline.aclose()


async def build(
    fake: FakeProviders, sessions: async_sessionmaker[AsyncSession], made: list[Pipeline], **shared: Any
) -> Pipeline:
    config = fake.settings(cloud_timeout_s=2.0, cascade="gemini:0.7,claude")
    pipeline = Pipeline(config, sessions, build_tiers(config, names_of(config.cascade)), PriceTable.load(), **shared)
    await pipeline.start()
    made.append(pipeline)
    return pipeline


async def test_a_429_seen_by_one_process_is_respected_by_the_other(
    fake: FakeProviders, sessions: async_sessionmaker[AsyncSession], made: list[Pipeline]
) -> None:
    store = SharedBreakers()
    fake.script("gemini", rate_limited("120"))
    one = await build(fake, sessions, made, breakers=store)
    other = await build(fake, sessions, made, breakers=store)
    await one.analyze([make_photo(1)])
    assert 100 < store.open_for["gemini"] <= 120, "the Retry-After is shared"
    second = await other.analyze([make_photo(2)])
    assert [a.outcome for a in second.receipt.attempts] == ["skipped_cooldown", "accepted"]
    assert len(fake.calls("gemini")) == 1, "the other process never called the rate-limited tier"


async def outcomes(pipeline: Pipeline, kind: str, seed: int) -> list[str]:
    """What each tier came to for one photo, or for one question (both go through ``TierCaller``)."""
    if kind == "photo":
        return [a.outcome for a in (await pipeline.analyze([make_photo(seed)])).receipt.attempts]
    return [a.outcome for a in (await pipeline.ask("what does F004 mean on a PowerFlex 525?")).attempts]


@pytest.mark.parametrize(("first", "then"), [("question", "photo"), ("photo", "question"), ("question", "question")])
async def test_a_429_seen_by_a_photo_or_a_question_is_respected_by_both_in_the_other_process(
    fake: FakeProviders, sessions: async_sessionmaker[AsyncSession], made: list[Pipeline], first: str, then: str
) -> None:
    store = SharedBreakers()
    fake.script("gemini", rate_limited("120"))
    one = await build(fake, sessions, made, breakers=store)
    other = await build(fake, sessions, made, breakers=store)
    assert (await outcomes(one, first, 31))[0] == "rate_limited"
    assert 100 < store.open_for.get("gemini", 0) <= 120, "the Retry-After is shared, whoever met it"
    assert (await outcomes(other, then, 32)) == ["skipped_cooldown", "accepted" if then == "photo" else "answered"]
    assert len(fake.calls("gemini")) == 1, "the other process never called the rate-limited tier"


async def test_a_rejected_key_is_shared_with_its_problem(
    fake: FakeProviders, sessions: async_sessionmaker[AsyncSession], made: list[Pipeline]
) -> None:
    store = SharedBreakers()
    fake.script("gemini", unauthorized())
    await (await build(fake, sessions, made, breakers=store)).analyze([make_photo(3)])
    assert store.problems["gemini"] == "key_rejected"


async def test_without_a_free_slot_the_tier_is_skipped_not_called(
    fake: FakeProviders, sessions: async_sessionmaker[AsyncSession], made: list[Pipeline]
) -> None:
    slots = NoSlots()
    with pytest.raises(NoTierAvailable):
        await (await build(fake, sessions, made, slots=slots)).analyze([make_photo(4)])
    assert slots.asked == ["gemini", "claude"]
    assert not fake.calls("gemini") and not fake.calls("claude")


async def test_a_question_without_a_free_slot_skips_the_tier_too(
    fake: FakeProviders, sessions: async_sessionmaker[AsyncSession], made: list[Pipeline]
) -> None:
    slots = NoSlots()
    with pytest.raises(NoTierAvailable):
        await (await build(fake, sessions, made, slots=slots)).ask("what does F004 mean?")
    assert slots.asked == ["gemini", "claude"]
    assert not fake.calls("gemini") and not fake.calls("claude")


async def test_the_canary_cascade_goes_through_the_same_breakers_and_slots(
    fake: FakeProviders, sessions: async_sessionmaker[AsyncSession], made: list[Pipeline]
) -> None:
    store, slots = SharedBreakers(), NoSlots()
    config = fake.settings(cloud_timeout_s=2.0, cascade="gemini:0.7,claude", canary_cascade="claude:0.7,gemini")
    tiers = build_tiers(config, names_of(config.cascade))
    pipeline = Pipeline(config, sessions, tiers, PriceTable.load(), breakers=store, slots=slots)
    made.append(pipeline)
    with pytest.raises(NoTierAvailable):
        await pipeline.analyze([make_photo(7)], arm="canary")
    assert slots.asked == ["claude", "gemini"], "a canary user's call takes a fleet-wide slot too"
    assert not fake.calls("gemini") and not fake.calls("claude")


async def test_the_index_learns_what_another_process_stored(
    fake: FakeProviders, sessions: async_sessionmaker[AsyncSession], made: list[Pipeline]
) -> None:
    one = await build(fake, sessions, made)
    other = await build(fake, sessions, made)  # started before the analysis exists
    await one.analyze([make_photo(5)])
    assert await other.cached([make_photo(5)]) is None, "not learnt yet: the index is in memory"
    assert await other.cache.learn(datetime.now(UTC)) == 1
    assert await other.cached([make_photo(5)]) is not None
    assert await other.cache.learn(datetime.now(UTC)) == 0, "learning is by id: nothing twice"
