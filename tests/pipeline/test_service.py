"""The whole pipeline end to end: real tiers (real SDKs) against fake provider servers, real migrated SQLite."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pipeline import AnalysisFailed, NoTierAvailable, Pipeline, PipelineEvent, PriceTable, Progress, build_tiers
from pipeline import parse_cascade_names as names_of
from pipeline.errors import NotAnImage
from pipeline.models import ModelCall, StoredAnalysis
from tests.conftest import make_photo, reencode
from tests.fakes.http import free_port
from tests.fakes.providers import (
    Fail,
    FakeProviders,
    good,
    hang,
    invalid_json,
    rate_limited,
    server_error,
    unauthorized,
)


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as providers:
        yield providers


@dataclass
class Harness:
    fake: FakeProviders
    sessions: async_sessionmaker[AsyncSession]
    events: list[PipelineEvent] = field(default_factory=list)
    pipelines: list[Pipeline] = field(default_factory=list)

    async def pipeline(self, prices: PriceTable | None = None, **settings: Any) -> Pipeline:
        values: dict[str, Any] = {"cloud_timeout_s": 2.0, "ollama_timeout_s": 2.0, **settings}
        config = self.fake.settings(**values)
        tiers = build_tiers(config, names_of(config.cascade))

        async def on_event(event: PipelineEvent) -> None:
            self.events.append(event)

        pipeline = Pipeline(config, self.sessions, tiers, prices or PriceTable.load(), on_event=on_event)
        await pipeline.start()
        self.pipelines.append(pipeline)
        return pipeline

    async def ledger(self) -> list[ModelCall]:
        async with self.sessions() as session:
            return list((await session.scalars(select(ModelCall).order_by(ModelCall.id))).all())

    def called(self) -> list[str]:
        return [p for p in ("ollama", "gemini", "grok", "claude") if self.fake.calls(p)]


@pytest.fixture
async def h(fake: FakeProviders, sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Harness]:
    harness = Harness(fake, sessions)
    yield harness
    for pipeline in harness.pipelines:
        await pipeline.aclose()


async def test_local_model_answers_confidently_so_no_cloud_call(h: Harness) -> None:
    h.fake.script("ollama", good(confidence=0.9))
    result = await (await h.pipeline()).analyze([make_photo(1)], caption="drive tripped", user_id=42)
    assert result.receipt.tier == "ollama" and result.receipt.cost_micro_usd == 0
    assert h.called() == ["ollama"]
    rows = await h.ledger()
    assert [(r.tier, r.outcome, r.cost_micro_usd, r.user_id) for r in rows] == [("ollama", "accepted", 0, 42)]
    assert rows[0].input_tokens == 1234 and rows[0].output_tokens == 56  # as the fake server reported


async def test_escalates_by_confidence_and_charges_exactly_what_was_reported(h: Harness) -> None:
    h.fake.script("ollama", good(confidence=0.5))
    h.fake.script("gemini", good(confidence=0.75))
    result = await (await h.pipeline()).analyze([make_photo(2)])
    assert result.receipt.tier == "gemini"
    assert h.called() == ["ollama", "gemini"]
    rows = await h.ledger()
    assert [(r.tier, r.outcome) for r in rows] == [("ollama", "escalated"), ("gemini", "accepted")]
    # gemini-2.5-flash-lite: 1234 × $0.10/M + 56 × $0.40/M = 123.4 + 22.4 = 145.8 → 146 µUSD
    assert rows[1].cost_micro_usd == 146 == result.receipt.cost_micro_usd
    assert rows[1].model_reported == "gemini-2.5-flash-lite"


async def test_errors_fall_through_every_tier_to_the_last(h: Harness) -> None:
    h.fake.script("ollama", server_error(500))
    h.fake.script("gemini", rate_limited("30"))
    h.fake.script("grok", invalid_json())
    h.fake.script("claude", good(confidence=0.6))
    result = await (await h.pipeline(cascade="ollama:0.8,gemini:0.7,grok:0.8,claude")).analyze([make_photo(3)])
    assert result.receipt.tier == "claude"
    outcomes = [(r.tier, r.outcome) for r in await h.ledger()]
    assert outcomes == [
        ("ollama", "unavailable"),
        ("gemini", "rate_limited"),
        ("grok", "bad_output"),
        ("claude", "accepted"),
    ]
    grok = (await h.ledger())[2]
    assert grok.cost_micro_usd > 0, "a reply that did not parse still cost money and is recorded"


async def test_sleeping_laptop_is_learned_fast_and_skipped_afterwards(h: Harness) -> None:
    pipeline = await h.pipeline(ollama_host=f"http://127.0.0.1:{free_port()}", cascade="ollama:0.8,gemini")
    started = time.monotonic()
    first = await pipeline.analyze([make_photo(4)])
    assert time.monotonic() - started < 5, "connection refused must not wait for a long timeout"
    assert first.receipt.tier == "gemini"
    second = await pipeline.analyze([make_photo(5)])
    assert [a.outcome for a in second.receipt.attempts] == ["skipped_cooldown", "accepted"]


async def test_rate_limit_retry_after_cools_the_tier_down(h: Harness) -> None:
    h.fake.script("gemini", rate_limited("120"))
    pipeline = await h.pipeline(cascade="gemini:0.7,claude")
    await pipeline.analyze([make_photo(6)])
    second = await pipeline.analyze([make_photo(7)])
    assert [a.outcome for a in second.receipt.attempts] == ["skipped_cooldown", "accepted"]
    assert len(h.fake.calls("gemini")) == 1


async def test_rejected_key_is_reported_once_and_the_tier_skipped(h: Harness) -> None:
    h.fake.script("gemini", unauthorized())
    pipeline = await h.pipeline(cascade="gemini:0.7,claude")
    await pipeline.analyze([make_photo(8)])
    await pipeline.analyze([make_photo(9)])
    assert [(e.kind, e.tier) for e in h.events] == [("key_rejected", "gemini")]
    assert len(h.fake.calls("gemini")) == 1


async def test_a_model_the_provider_does_not_know_is_reported_once_and_the_tier_skipped(h: Harness) -> None:
    h.fake.script("grok", Fail(404, "The model grok-4-1-fast-non-reasoning does not exist"))
    pipeline = await h.pipeline(cascade="grok:0.7,claude")
    first = await pipeline.analyze([make_photo(8)])
    second = await pipeline.analyze([make_photo(9)])
    assert [a.outcome for a in first.receipt.attempts] == ["model_missing", "accepted"]
    assert [a.outcome for a in second.receipt.attempts] == ["skipped_cooldown", "accepted"]
    assert [(e.kind, e.tier) for e in h.events] == [("model_missing", "grok")]
    assert len(h.fake.calls("grok")) == 1


async def test_no_tier_accepts_returns_the_best_answer_marked_low_confidence(h: Harness) -> None:
    h.fake.script("gemini", good(confidence=0.65))
    h.fake.script("grok", good(confidence=0.55))
    pipeline = await h.pipeline(cascade="gemini:0.7,grok:0.8")
    result = await pipeline.analyze([make_photo(10)])
    assert result.receipt.low_confidence and result.receipt.tier == "gemini"
    assert result.analysis_id is None, "a low-confidence answer is not cached"


async def test_all_tiers_failing_is_a_typed_error_with_every_attempt_in_the_ledger(h: Harness) -> None:
    for tier in ("ollama", "gemini", "grok", "claude"):
        h.fake.script(tier, server_error(503))
    with pytest.raises(AnalysisFailed) as caught:
        await (await h.pipeline()).analyze([make_photo(11)])
    assert [a.outcome for a in caught.value.attempts] == ["unavailable"] * 4
    assert len(await h.ledger()) == 4


async def test_no_configured_tier(h: Harness) -> None:
    pipeline = await h.pipeline(ollama_host="", gemini_api_key=None, xai_api_key=None, anthropic_api_key=None)
    with pytest.raises(NoTierAvailable):
        await pipeline.analyze([make_photo(12)])


async def test_not_an_image_is_rejected_before_any_call(h: Harness) -> None:
    with pytest.raises(NotAnImage):
        await (await h.pipeline()).analyze([b"%PDF-1.7 not a photo"])
    assert h.called() == [] and await h.ledger() == []


async def test_request_time_budget_bounds_the_cascade(h: Harness) -> None:
    h.fake.script("gemini", hang(3.0))
    pipeline = await h.pipeline(cascade="gemini:0.7,claude", request_timeout_s=1.5, cloud_timeout_s=10)
    started = time.monotonic()
    with pytest.raises((AnalysisFailed, NoTierAvailable)):
        await pipeline.analyze([make_photo(13)])
    assert time.monotonic() - started < 3.0
    assert h.called() == ["gemini"], "no time was left for claude"


async def test_cache_exact_and_near_hits_cost_nothing(h: Harness) -> None:
    pipeline = await h.pipeline(cascade="gemini:0.7,claude")
    photo = make_photo(14)
    first = await pipeline.analyze([photo])
    assert first.receipt.source == "model" and first.analysis_id is not None
    exact = await pipeline.analyze([photo])
    near = await pipeline.analyze([reencode(photo)])
    other = await pipeline.analyze([make_photo(15)])
    assert (exact.receipt.source, exact.receipt.cache_match, exact.receipt.cost_micro_usd) == ("cache", "exact", 0)
    assert (near.receipt.source, near.receipt.cache_match) == ("cache", "near")
    assert near.receipt.cached_at is not None
    assert other.receipt.source == "model"
    assert len(h.fake.calls("gemini")) == 2
    hits = [r.outcome for r in await h.ledger() if r.tier == "cache"]
    assert hits == ["hit_exact", "hit_near"]


async def test_cache_survives_a_restart_and_fresh_analysis_replaces_it(h: Harness) -> None:
    photo = make_photo(16)
    first = await (await h.pipeline(cascade="gemini")).analyze([photo])
    restarted = await h.pipeline(cascade="gemini")
    assert (await restarted.analyze([photo])).receipt.source == "cache"
    h.fake.script("gemini", good(serial_number="NEW-SERIAL", confidence=0.9))
    fresh = await restarted.analyze([photo], replaces=first.analysis_id)
    assert fresh.receipt.source == "model" and fresh.analysis.serial_number == "NEW-SERIAL"
    again = await restarted.analyze([photo])
    assert again.receipt.source == "cache" and again.analysis.serial_number == "NEW-SERIAL"
    async with h.sessions() as session:
        old = await session.get(StoredAnalysis, first.analysis_id)
        assert old is not None and old.superseded


async def test_album_hits_only_when_every_photo_matches(h: Harness) -> None:
    pipeline = await h.pipeline(cascade="gemini")
    a, b, c = make_photo(17), make_photo(18), make_photo(19)
    await pipeline.analyze([a, b])
    assert (await pipeline.analyze([a, b])).receipt.source == "cache"
    assert (await pipeline.analyze([a, c])).receipt.source == "model"
    assert (await pipeline.analyze([a])).receipt.source == "model"


async def test_expired_cache_entries_are_not_used(h: Harness) -> None:
    clock = {"now": datetime(2026, 11, 22, 8, 0, tzinfo=UTC)}
    config = h.fake.settings(cascade="gemini", cache_ttl_hours=1)
    pipeline = Pipeline(
        config, h.sessions, build_tiers(config, ["gemini"]), PriceTable.load(), now=lambda: clock["now"]
    )
    h.pipelines.append(pipeline)
    photo = make_photo(20)
    await pipeline.analyze([photo])
    clock["now"] = clock["now"].replace(hour=10)
    assert (await pipeline.analyze([photo])).receipt.source == "model"


@dataclass
class RecordingGuard:
    allow: bool = True
    reserved: list[tuple[str, int]] = field(default_factory=list)
    settled: list[int] = field(default_factory=list)

    async def reserve(self, *, user_id: int | None, provider: str, estimate_micro_usd: int) -> object | None:
        self.reserved.append((provider, estimate_micro_usd))
        return object() if self.allow else None

    async def settle(self, reservation: object, actual_micro_usd: int) -> None:
        self.settled.append(actual_micro_usd)


async def test_spending_guard_is_asked_before_each_cloud_call_and_settled_with_the_real_cost(h: Harness) -> None:
    guard = RecordingGuard()
    h.fake.script("ollama", good(confidence=0.3))
    result = await (await h.pipeline(cascade="ollama:0.8,gemini")).analyze([make_photo(21)], guard=guard)
    assert [p for p, _ in guard.reserved] == ["google"], "the local tier needs no budget"
    assert guard.reserved[0][1] >= guard.settled[0] == result.receipt.cost_micro_usd == 146


async def test_budget_refusal_skips_cloud_tiers_but_local_keeps_serving(h: Harness) -> None:
    guard = RecordingGuard(allow=False)
    h.fake.script("ollama", good(confidence=0.6))
    result = await (await h.pipeline()).analyze([make_photo(22)], guard=guard)
    assert result.receipt.tier == "ollama" and result.receipt.budget_limited and result.receipt.low_confidence
    assert h.called() == ["ollama"]


async def test_budget_refusal_with_no_local_tier_is_no_tier_available(h: Harness) -> None:
    with pytest.raises(NoTierAvailable) as caught:
        await (await h.pipeline(cascade="gemini,claude")).analyze([make_photo(23)], guard=RecordingGuard(allow=False))
    assert caught.value.budget_refused


async def test_a_cloud_model_without_a_price_is_never_called_and_is_reported(h: Harness) -> None:
    """Neither genai-prices nor the price files know the model: refused and reported, never called as free."""
    pipeline = await h.pipeline(cascade="gemini:0.7,claude", gemini_model="gemini-0-unpriced")
    result = await pipeline.analyze([make_photo(24)])
    assert result.receipt.tier == "claude" and h.called() == ["claude"]
    assert [(e.kind, e.detail) for e in h.events] == [("price_missing", "gemini-0-unpriced")]


async def test_the_admins_price_file_prices_what_nobody_lists(h: Harness, tmp_path: Path) -> None:
    table = tmp_path / "prices.json"
    table.write_text(
        '{"prices": [{"model": "gemini-0-unpriced", "provider": "google", "input": "1", "output": "5",'
        ' "source": "negotiated", "checked": "2026-11-30"}]}'
    )
    h.fake.catalogue["gemini"].append("gemini-0-unpriced")
    pipeline = await h.pipeline(PriceTable.load(table), cascade="gemini", gemini_model="gemini-0-unpriced")
    result = await pipeline.analyze([make_photo(24)])
    assert result.receipt.tier == "gemini" and h.events == []
    assert result.receipt.cost_micro_usd == 1234 * 1 + 56 * 5


async def test_progress_reports_cache_then_each_tier(h: Harness) -> None:
    seen: list[tuple[str, str | None]] = []

    async def progress(event: Progress) -> None:
        seen.append((event.stage, event.tier))

    h.fake.script("ollama", good(confidence=0.2))
    await (await h.pipeline(cascade="ollama:0.8,gemini")).analyze([make_photo(25)], progress=progress)
    assert seen == [("cache", None), ("tier", "ollama"), ("tier", "gemini"), ("done", "gemini")]


async def test_a_failing_progress_callback_does_not_fail_the_analysis(h: Harness) -> None:
    async def progress(event: Progress) -> None:
        raise RuntimeError("telegram edit failed")

    result = await (await h.pipeline(cascade="gemini")).analyze([make_photo(26)], progress=progress)
    assert result.receipt.tier == "gemini"


async def test_an_empty_but_billed_reply_is_recorded_with_its_cost(h: Harness) -> None:
    from tests.fakes.providers import Text

    h.fake.script("gemini", Text("", input_tokens=1000, output_tokens=800))
    result = await (await h.pipeline(cascade="gemini:0.7,claude")).analyze([make_photo(27)])
    assert result.receipt.tier == "claude"
    gemini = (await h.ledger())[0]
    assert (gemini.outcome, gemini.input_tokens, gemini.output_tokens) == ("bad_output", 1000, 800)
    assert gemini.cost_micro_usd == 420  # 1000 × 0.10 + 800 × 0.40


async def test_cache_on_the_shared_photos_matches_resends_and_not_neighbours(h: Harness) -> None:
    """Real camera photos: a Telegram-style re-send (1280 px, q80) of an analysed photo hits; the visually
    similar photos of the same kind of hardware (the hard negative set) do not."""
    from tests.photos import photo_paths

    paths = photo_paths("inspection")[:12]
    pipeline = await h.pipeline(cascade="gemini")
    first = paths[0].read_bytes()
    await pipeline.analyze([first])
    resent = await pipeline.analyze([reencode(first, quality=80, scale=0.9)])
    assert resent.receipt.cache_match == "near"
    for path in paths[1:]:
        result = await pipeline.analyze([path.read_bytes()])
        assert result.receipt.source == "model", f"{path.name} wrongly matched {paths[0].name}"
    gauge = photo_paths("gauge")[0].read_bytes()
    await pipeline.analyze([gauge])
    assert (await pipeline.analyze([gauge])).receipt.cache_match == "exact"
