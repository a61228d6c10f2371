"""Every tier's answer is kept in the ledger, not only the accepted one (real tiers against fake servers)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pipeline import Pipeline, PriceTable, build_tiers
from pipeline import parse_cascade_names as names_of
from pipeline.ledger import read_calls, record_attempts
from pipeline.types import Analysis, Attempt, Usage
from tests.conftest import make_photo
from tests.fakes.providers import FakeProviders, good, invalid_json


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as providers:
        yield providers


@pytest.fixture
async def pipeline(fake: FakeProviders, sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Pipeline]:
    config = fake.settings(cascade="ollama:0.8,gemini:0.8,claude", cloud_timeout_s=2.0, ollama_timeout_s=2.0)
    built = Pipeline(config, sessions, build_tiers(config, names_of(config.cascade)), PriceTable.load())
    await built.start()
    yield built
    await built.aclose()


async def test_escalated_answers_are_kept_with_score_and_reasons(
    fake: FakeProviders, pipeline: Pipeline, sessions: async_sessionmaker[AsyncSession]
) -> None:
    fake.script("ollama", good(confidence=0.6, model=None, serial_number="WRONG-1"))  # reads a manufacturer only
    fake.script("gemini", invalid_json())
    fake.script("claude", good(confidence=0.9))
    result = await pipeline.analyze([make_photo(31)], user_id=7)
    assert result.receipt.tier == "claude"
    async with sessions() as session:
        rows = await read_calls(session)
    assert [(r.tier, r.outcome) for r in rows] == [
        ("ollama", "escalated"),
        ("gemini", "bad_output"),
        ("claude", "accepted"),
    ]
    local, failed, accepted = rows
    assert local.analysis is not None and local.analysis.serial_number == "WRONG-1"
    assert local.score is not None and local.score < 0.6, "the penalty for a manufacturer without a model"
    assert accepted.analysis is not None and accepted.analysis.serial_number == "A1B2C3D4"
    assert failed.analysis is None and failed.score is None
    assert {r.purpose for r in rows} == {"serve"} and local.cost_micro_usd == 0 and accepted.cost_micro_usd > 0


async def test_reasons_purpose_arm_and_evidence_round_trip(sessions: async_sessionmaker[AsyncSession]) -> None:
    analysis = Analysis(equipment_type="motor", manufacturer="ABB", confidence=0.7)
    attempt = Attempt(
        tier="gemini",
        provider="google",
        model="gemini-2.5-flash",
        outcome="escalated",
        latency_ms=900,
        usage=Usage(1000, 50),
        cost_micro_usd=123,
        score=0.55,
        analysis=analysis,
        reasons=("manufacturer_without_model",),
        evidence={"manufacturer": "confirmed", "serial_number": "absent"},
    )
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        record_attempts(session, request_id="r1", user_id=1, attempts=[attempt], now=now, purpose="eval", arm="canary")
        record_attempts(session, request_id="r2", user_id=1, attempts=[attempt], now=now + timedelta(seconds=1))
    async with sessions() as session:
        evals = await read_calls(session, purpose="eval")
        served = await read_calls(session, purpose="serve")
        later = await read_calls(session, since=now + timedelta(milliseconds=500))
    assert [r.request_id for r in evals] == ["r1"] and evals[0].arm == "canary"
    assert [r.request_id for r in served] == ["r2"] and served[0].arm is None
    assert [r.request_id for r in later] == ["r2"]
    row = evals[0]
    assert row.analysis == analysis and row.evidence == {"manufacturer": "confirmed", "serial_number": "absent"}
    assert (row.score, row.cost_micro_usd, row.latency_ms, row.usage) == (0.55, 123, 900, Usage(1000, 50))
