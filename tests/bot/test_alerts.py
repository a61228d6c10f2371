"""Alert rules (pure, table-tested), the window read from the ledger, and once-per-day dedupe in the database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts import alerts
from bot.accounts.alerts import ConfiguredModel, RecentWindow
from bot.i18n import Translator, translator
from bot.runtime.settings import BotSettings
from pipeline import PipelineEvent, PriceTable
from pipeline.costs import Price
from pipeline.models import ModelCall

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("spent", "level", "fires"),
    [(0, 10_000_000, False), (10_000_000, 10_000_000, False), (10_000_001, 10_000_000, True), (5, None, False),
     (1, 0, True)],
)  # fmt: skip
def test_spend_alert(spent: int, level: int | None, fires: bool) -> None:
    alert = alerts.spend_alert(spent, level)
    assert (alert is not None) is fires
    if alert:
        assert alert.key == "spend" and f"level ${level // 1_000_000}.0000" in alert.text()


@pytest.mark.parametrize(
    ("analyses", "hits", "fires"),
    [(100, 19, True), (100, 20, False), (100, 0, True), (19, 0, False), (20, 3, True), (20, 4, False), (0, 0, False)],
)
def test_cache_alert(analyses: int, hits: int, fires: bool) -> None:
    assert (alerts.cache_alert(RecentWindow(analyses, hits, 0)) is not None) is fires


@pytest.mark.parametrize(
    ("analyses", "expensive", "tier", "fires"),
    [(100, 30, "claude", False), (100, 31, "claude", True), (10, 10, "claude", False), (100, 90, None, False),
     (20, 7, "claude", True), (20, 6, "claude", False)],
)  # fmt: skip
def test_expensive_alert(analyses: int, expensive: int, tier: str | None, fires: bool) -> None:
    alert = alerts.expensive_alert(RecentWindow(analyses, 0, expensive), tier)
    assert (alert is not None) is fires
    if alert:
        assert alert.key == f"expensive:{tier}"


PRICES = PriceTable(
    [
        Price("live", "google", Decimal("0.1"), Decimal("0.4"), date(2025, 1, 1), None),
        Price("dead", "openai", Decimal("0.1"), Decimal("0.4"), date(2025, 1, 1), date(2026, 11, 21)),
        Price("ends-today", "openai", Decimal("0.1"), Decimal("0.4"), date(2025, 1, 1), date(2026, 11, 22)),
    ]
)


@pytest.mark.parametrize(
    ("model", "is_local", "key"),
    [("live", False, None), ("dead", False, "shutdown:t:dead"), ("ends-today", False, None),
     ("unknown", False, "price_missing:t:unknown"), ("unknown", True, None)],
)  # fmt: skip
def test_model_alerts(model: str, is_local: bool, key: str | None) -> None:
    found = alerts.model_alerts([ConfiguredModel("t", model, is_local)], PRICES, NOW.date())
    assert [a.key for a in found] == ([key] if key else [])


def test_a_missing_model_alert_says_what_to_do() -> None:
    alert = alerts.event_alert(PipelineEvent("model_missing", "grok", "HTTP 404: model not found"))
    assert alert.key == "model_missing:grok:HTTP 404: model not found"
    assert "does not know its model" in alert.text() and "doctor" in alert.text()


def test_event_alert_escapes_what_the_provider_said() -> None:
    alert = alerts.event_alert(PipelineEvent("key_rejected", "gemini", "401 <Unauthorized>"))
    assert alert.key == "key_rejected:gemini:401 <Unauthorized>" and "&lt;Unauthorized&gt;" in alert.text()
    assert "&lt;Unauthorized&gt;" in alert.text(translator("de")) and "<Unauthorized>" not in alert.text(
        translator("de")
    )


@pytest.mark.parametrize(
    ("alert", "code", "expected"),
    [
        (alerts.spend_alert(12_000_000, 10_000_000), "de", "💸 Die Cloud-Ausgaben von heute liegen bei $12.00"),
        (alerts.cache_alert(RecentWindow(100, 5, 0)), "es", "♻️ La caché respondió solo el 5 % de los últimos 100"),
        (alerts.expensive_alert(RecentWindow(40, 0, 20), "claude"), "pt", "📈 O nível mais caro, <b>claude</b>, foi"),
        (alerts.event_alert(PipelineEvent("price_missing", "grok", "grok-9")), "de", "💲 Kein Preis für das Modell"),
        (alerts.model_alerts([ConfiguredModel("gpt", "dead", False)], PRICES, NOW.date())[0], "es",
         "🪦 El proveedor retiró el modelo <b>dead</b> (gpt) el 2026-11-21"),
    ],
)  # fmt: skip
def test_each_admin_reads_an_alert_in_their_language(alert: alerts.Alert | None, code: str, expected: str) -> None:
    assert alert is not None
    assert alert.text(translator(code)).startswith(expected), alert.text(translator(code))
    assert alert.text(translator("en")) == alert.text() and alert.text() != alert.text(translator(code))


def _call(request: str, tier: str, outcome: str = "accepted", cost: int = 0) -> ModelCall:
    return ModelCall(
        request_id=request, user_id=42, tier=tier, provider=tier, model_requested="m", cost_micro_usd=cost,
        outcome=outcome, created_at=NOW,
    )  # fmt: skip


async def test_window_counts_requests_not_rows(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        session.add_all([_call("old", "claude")])  # pushed out of a window of 3 by the newer ones
        session.add_all([_call("a", "gemini", "escalated"), _call("a", "claude")])
        session.add_all([_call("b", "cache", "hit_exact")])
        session.add_all([_call("c", "gemini"), _call("c", "claude", "skipped_budget")])
    async with sessions() as session:
        assert await alerts.recent_window(session, "claude", size=3) == RecentWindow(3, 1, 1)
        assert await alerts.recent_window(session, "claude") == RecentWindow(4, 1, 2)
        assert await alerts.recent_window(session, None) == RecentWindow(4, 1, 0)


async def test_each_alert_is_sent_once_a_day_even_when_raced(sessions: async_sessionmaker[AsyncSession]) -> None:
    sent: list[str] = []
    clock = [NOW]

    async def notify(text: Callable[[Translator], str]) -> None:
        sent.append(text(translator("en")))

    alerter = alerts.Alerter(
        sessions, BotSettings(_env_file=None, budget_alert_usd=Decimal("0.01")), PRICES, notify,
        expensive_tier="claude", models=[ConfiguredModel("gpt", "dead", False)], now=lambda: clock[0],
    )  # fmt: skip
    async with sessions.begin() as session:
        session.add_all([_call(f"r{i}", "claude", cost=1_000) for i in range(25)])
    await asyncio.gather(*(alerter.check_all() for _ in range(5)))
    event = PipelineEvent("key_rejected", "gemini", "401")
    await asyncio.gather(*(alerter.on_pipeline_event(event) for _ in range(3)))
    keys = sorted(t.split(" ")[0] for t in sent)
    assert keys == sorted(["💸", "♻️", "📈", "🪦", "🔑"]), sent
    clock[0] = NOW + timedelta(days=1)
    await alerter.on_pipeline_event(event)
    assert len(sent) == 6, "a new UTC day may repeat it"
