from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.costs import (
    Price,
    PriceTable,
    PriceTableError,
    cost_micro_usd,
    estimate_micro_usd,
    format_usd,
    lifecycle_warning,
)
from pipeline.types import Usage

HAIKU = Price("claude-haiku-4-5", "anthropic", Decimal("1.00"), Decimal("5.00"), date(2025, 10, 15), None)
LITE = Price("gemini-2.5-flash-lite", "google", Decimal("0.10"), Decimal("0.40"), date(2025, 7, 22), None)


@pytest.mark.parametrize(
    ("price", "usage", "micro"),
    [
        (HAIKU, Usage(1234, 56), 1234 + 280),
        (LITE, Usage(265, 20), 35),  # 26.5 + 8 = 34.5 → half-up 35
        (LITE, Usage(264, 20), 34),  # 26.4 + 8 = 34.4
        (LITE, Usage(0, 0), 0),
        (HAIKU, Usage(1_000_000, 1_000_000), 6_000_000),  # $6.00 exactly
    ],
)
def test_cost_is_exact_integer_micro_usd(price: Price, usage: Usage, micro: int) -> None:
    assert cost_micro_usd(price, usage) == micro


def test_estimate_rounds_up_and_assumes_full_output() -> None:
    assert estimate_micro_usd(LITE, input_tokens=265, max_output_tokens=800) == 347  # 26.5 + 320 = 346.5, rounded up


def test_shipped_table_loads_and_dates_select_the_row_in_force(tmp_path: Path) -> None:
    table = PriceTable.load()
    assert table.lookup("claude-haiku-4-5", date(2026, 11, 22)) == HAIKU
    assert table.lookup("claude-haiku-4-5-20251001", date(2026, 11, 22)) == HAIKU
    assert table.lookup("no-such-model", date(2026, 11, 22)) is None
    custom = tmp_path / "prices.json"
    custom.write_text(
        '{"prices": ['
        '{"model": "m", "provider": "p", "input": "1", "output": "2", "effective": "2026-01-01", "shutdown": null},'
        '{"model": "m", "provider": "p", "input": "3", "output": "4", "effective": "2026-06-01", "shutdown": null}]}'
    )
    table = PriceTable.load(custom)
    assert table.lookup("m", date(2025, 12, 31)) is None
    assert table.lookup("m", date(2026, 3, 1)).input_per_m == Decimal(1)  # type: ignore[union-attr]
    assert table.lookup("m", date(2026, 6, 1)).input_per_m == Decimal(3)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "body",
    [
        "{}",
        '{"prices": [{"model": "m"}]}',
        "not json",
        '{"prices": [{"model": "m", "provider": "p", "input": "-1", "output": "1", "effective": "2026-01-01"}]}',
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


def test_lifecycle_warnings() -> None:
    today = date(2026, 11, 22)
    table = PriceTable.load()
    assert lifecycle_warning(table.lookup("gemini-2.5-flash", today), "gemini-2.5-flash", today) is not None
    assert "shut down" in (lifecycle_warning(table.lookup("gpt-4.1-nano", today), "gpt-4.1-nano", today) or "")
    assert lifecycle_warning(table.lookup("gemini-2.5-flash-lite", today), "gemini-2.5-flash-lite", today) is None
    assert "no price" in (lifecycle_warning(None, "grok-9", today) or "")
