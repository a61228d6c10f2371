from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import genai_prices
import pytest

from pipeline.costs import (
    Price,
    PriceTable,
    PriceTableError,
    PriceTier,
    cost_micro_usd,
    estimate_micro_usd,
    format_usd,
    lifecycle_warning,
)
from pipeline.price_catalogue import PROVIDER_IDS
from pipeline.types import Usage

TODAY = date(2026, 11, 30)
HAIKU = Price("claude-haiku-4-5", "anthropic", Decimal("1.00"), Decimal("5.00"), date(2025, 10, 15), None)
LITE = Price("gemini-2.5-flash-lite", "google", Decimal("0.10"), Decimal("0.40"), date(2025, 7, 22), None)
HAIKU_5_5 = Price(
    "claude-haiku-5-5", "anthropic", Decimal("0.10"), Decimal("0.50"), None, None,
    tiers=(PriceTier(100_000, Decimal("0.50"), Decimal("2.50")),),
)  # fmt: skip


@pytest.mark.parametrize(
    ("price", "usage", "micro"),
    [
        (HAIKU, Usage(1234, 56), 1234 + 280),
        (LITE, Usage(265, 20), 35),  # 26.5 + 8 = 34.5 → half-up 35
        (LITE, Usage(264, 20), 34),  # 26.4 + 8 = 34.4
        (LITE, Usage(0, 0), 0),
        (HAIKU, Usage(1_000_000, 1_000_000), 6_000_000),  # $6.00 exactly
        (HAIKU_5_5, Usage(100_000, 1000), 10_000 + 500),  # ≤100k prompt: base rates
        (HAIKU_5_5, Usage(100_001, 1000), 50_001 - 0 + 2500),  # 100,001 × 0.5 = 50,000.5 → 50,001; every token
    ],
)
def test_cost_is_exact_integer_micro_usd(price: Price, usage: Usage, micro: int) -> None:
    assert cost_micro_usd(price, usage) == micro


def test_estimate_rounds_up_and_assumes_full_output() -> None:
    assert estimate_micro_usd(LITE, input_tokens=265, max_output_tokens=800) == 347  # 26.5 + 320 = 346.5, rounded up
    assert estimate_micro_usd(HAIKU_5_5, input_tokens=150_000, max_output_tokens=800) == 75_000 + 2_000


@pytest.mark.parametrize(
    ("model", "provider", "rates"),
    [
        ("gemini-2.5-flash-lite", "google", ("0.1", "0.4")),
        ("gemini-3.1-flash-lite", "google", ("0.25", "1.5")),
        ("gemini-3.5-flash-lite", "google", ("0.3", "2.5")),
        ("grok-4.3", "xai", ("1.25", "2.5")),
        ("claude-haiku-5-5", "anthropic", ("0.1", "0.5")),
        ("claude-haiku-4-5-20251001", "anthropic", ("1", "5")),
        ("gpt-4.1-mini", "openai", ("0.4", "1.6")),
        ("grok-4.20-non-reasoning", "xai", ("2.00", "6.00")),  # not in genai-prices: the shipped fill-in
    ],
)
def test_shipped_prices_for_todays_models(model: str, provider: str, rates: tuple[str, str]) -> None:
    price = PriceTable.load().lookup(model, TODAY, provider)
    assert price is not None and (price.input_per_m, price.output_per_m) == tuple(map(Decimal, rates))
    assert price.source and (price.checked is not None or price.source.startswith("genai-prices"))


@pytest.mark.parametrize(
    ("model", "provider", "usage"),
    [
        ("claude-haiku-5-5", "anthropic", (1_234, 321)),
        ("claude-haiku-5-5", "anthropic", (100_000, 999)),
        ("claude-haiku-5-5", "anthropic", (100_001, 999)),  # the >100k tier, on every token
        ("grok-4.3", "xai", (199_999, 10)),
        ("grok-4.3", "xai", (200_000, 10)),
        ("gemini-2.5-flash-lite", "google", (1_061, 77)),
        ("gpt-4.1-mini", "openai", (1_845, 300)),
    ],
)
def test_our_arithmetic_agrees_with_genai_prices(model: str, provider: str, usage: tuple[int, int]) -> None:
    """The rates are genai-prices'; the bill is ours in micro-USD. Both must say the same amount."""
    price = PriceTable.load().lookup(model, TODAY, provider)
    assert price is not None
    theirs = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=usage[0], output_tokens=usage[1]), model,
        provider_id=PROVIDER_IDS[provider], genai_request_timestamp=datetime(2026, 11, 30, tzinfo=UTC),
    ).total_price  # fmt: skip
    assert cost_micro_usd(price, Usage(*usage)) == int((theirs * 1_000_000).to_integral_value())


def test_admin_file_wins_and_dates_select_the_row_in_force(tmp_path: Path) -> None:
    table = PriceTable.load()
    assert table.lookup("no-such-model", TODAY) is None
    custom = tmp_path / "prices.json"
    custom.write_text(
        '{"prices": ['
        '{"model": "m", "provider": "p", "input": "1", "output": "2", "effective": "2026-01-01"},'
        '{"model": "m", "provider": "p", "input": "3", "output": "4", "effective": "2026-06-01"},'
        '{"model": "claude-haiku-5-5", "provider": "anthropic", "input": "0.08", "output": "0.40",'
        ' "effective": "2026-11-01", "source": "negotiated, contract 42", "checked": "2026-11-02"}],'
        ' "lifecycle": [{"model": "gemini-2.5-flash-lite", "shutdown": "2026-12-20", "replacement": "x"}]}'
    )
    table = PriceTable.load(custom)
    assert table.lookup("m", date(2025, 12, 31)) is None
    assert table.lookup("m", date(2026, 3, 1)).input_per_m == Decimal(1)  # type: ignore[union-attr]
    assert table.lookup("m", date(2026, 6, 1)).input_per_m == Decimal(3)  # type: ignore[union-attr]
    negotiated = table.lookup("claude-haiku-5-5", TODAY, "anthropic")
    assert negotiated is not None and negotiated.input_per_m == Decimal("0.08") and "contract 42" in negotiated.source
    assert table.lookup("claude-haiku-5-5", date(2026, 10, 31)).input_per_m == Decimal("0.1")  # type: ignore[union-attr]
    lite = table.lookup("gemini-2.5-flash-lite", TODAY)
    assert lite is not None and lite.shutdown == date(2026, 12, 20) and lite.input_per_m == Decimal("0.1")


@pytest.mark.parametrize(
    "body",
    [
        '{"prices": [{"model": "m"}]}',
        "not json",
        "[]",
        '{"prices": [{"model": "m", "provider": "p", "input": "-1", "output": "1", "effective": "2026-01-01"}]}',
        '{"prices": [{"model": "m", "provider": "p", "input": "NaN", "output": "1"}]}',
        '{"lifecycle": [{"model": "m", "shutdown": "soon"}]}',
    ],
)
def test_malformed_table_is_a_clear_error(tmp_path: Path, body: str) -> None:
    path = tmp_path / "prices.json"
    path.write_text(body)
    with pytest.raises(PriceTableError, match=str(path)):
        PriceTable.load(path)


@pytest.mark.parametrize(
    ("micro", "text"), [(0, "$0.0000"), (35, "$0.0000"), (50, "$0.0001"), (1514, "$0.0015"), (6_000_000, "$6.0000")]
)
def test_format_usd(micro: int, text: str) -> None:
    assert format_usd(micro) == text


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gemini-2.5-flash", "shuts down on 2026-12-01 (in 1 days); the provider names gemini-3.5-flash-lite"),
        ("gpt-4.1-nano", "shut down by the provider on 2026-10-23"),
        ("grok-4-1-fast-non-reasoning", "shut down by the provider on 2026-05-15"),
        ("gemini-2.5-flash-lite", None),
        ("gpt-4.1-mini", None),  # 2027-01-14 is 45 days away
        ("claude-haiku-5-5", None),
    ],
)
def test_lifecycle_warnings(model: str, expected: str | None) -> None:
    warning = lifecycle_warning(PriceTable.load().lookup(model, TODAY), model, TODAY)
    assert (warning is None) if expected is None else (expected in (warning or ""))


def test_a_model_with_no_price_anywhere_is_reported_not_free() -> None:
    assert PriceTable.load().lookup("grok-9", TODAY, "xai") is None
    assert "no price" in (lifecycle_warning(None, "grok-9", TODAY) or "")


@pytest.mark.parametrize(
    ("field", "provider"),
    [("gemini_model", "google"), ("xai_model", "xai"), ("anthropic_model", "anthropic"), ("openai_model", "openai")],
)
def test_every_default_cloud_model_is_priced_and_not_retiring(field: str, provider: str) -> None:
    """The shipped defaults exist in today's catalogues (tests/fakes/providers.CATALOGUES, read 2026-11-30),
    have a price, and are not within 30 days of an announced shutdown."""
    from pipeline.settings import PipelineSettings
    from tests.fakes.providers import CATALOGUES

    model = PipelineSettings.model_fields[field].default
    fake_key = {"google": "gemini", "anthropic": "anthropic", "xai": "xai", "openai": "openai"}[provider]
    assert any(m == model or m.startswith(f"{model}-") for m in CATALOGUES[fake_key])
    price = PriceTable.load().lookup(model, TODAY, provider)
    assert price is not None and lifecycle_warning(price, model, TODAY) is None
