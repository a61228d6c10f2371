"""Prices as dated data, and cost arithmetic in integer micro-USD.

Price rows are USD per 1M tokens, so the cost of ``n`` tokens in micro-USD is exactly ``n × price`` (a
million micro-dollars per dollar cancels the million tokens). The Decimal product is rounded half-up to a whole
micro-dollar once per call, after input and output are added, so sums over the ledger are exact integers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from pipeline.types import Usage


class PriceTableError(ValueError):
    """The price file is malformed."""


@dataclass(frozen=True)
class Price:
    model: str
    provider: str
    input_per_m: Decimal
    output_per_m: Decimal
    effective: date
    shutdown: date | None


class PriceTable:
    def __init__(self, prices: list[Price]) -> None:
        self._by_model: dict[str, list[Price]] = {}
        for price in sorted(prices, key=lambda p: p.effective):
            self._by_model.setdefault(price.model, []).append(price)

    @classmethod
    def load(cls, path: Path | None = None) -> PriceTable:
        """Load the shipped table, or the admin's file at ``path`` (``PRICES_PATH``)."""
        if path is None:
            text = resources.files("pipeline").joinpath("prices.json").read_text(encoding="utf-8")
            source = "pipeline/prices.json"
        else:
            text = Path(path).read_text(encoding="utf-8")
            source = str(path)
        try:
            rows = json.loads(text)["prices"]
            return cls([_price_from_row(row) for row in rows])
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise PriceTableError(f"{source}: {exc}") from exc

    def lookup(self, model: str, on: date) -> Price | None:
        """The row in force on ``on``; dated suffixes like ``-001`` or ``-20251001`` fall back to the base name."""
        for name in _candidate_names(model):
            rows = [p for p in self._by_model.get(name, []) if p.effective <= on]
            if rows:
                return rows[-1]
        return None

    def models(self) -> list[str]:
        return sorted(self._by_model)


def _candidate_names(model: str) -> list[str]:
    names = [model]
    parts = model.split("-")
    while len(parts) > 1 and (parts[-1].isdigit() or parts[-1] in {"latest", "preview"}):
        parts = parts[:-1]
        names.append("-".join(parts))
    return names


def _price_from_row(row: dict[str, Any]) -> Price:
    shutdown = row.get("shutdown")
    price = Price(
        model=str(row["model"]),
        provider=str(row["provider"]),
        input_per_m=Decimal(str(row["input"])),
        output_per_m=Decimal(str(row["output"])),
        effective=date.fromisoformat(row["effective"]),
        shutdown=date.fromisoformat(shutdown) if shutdown else None,
    )
    if price.input_per_m < 0 or price.output_per_m < 0:
        raise PriceTableError(f"negative price for {price.model}")
    return price


def cost_micro_usd(price: Price, usage: Usage) -> int:
    exact = usage.input_tokens * price.input_per_m + usage.output_tokens * price.output_per_m
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def estimate_micro_usd(price: Price, *, input_tokens: int, max_output_tokens: int) -> int:
    """Upper estimate used only to reserve budget before a call: rounded up, output at its maximum."""
    exact = input_tokens * price.input_per_m + max_output_tokens * price.output_per_m
    return int(exact.quantize(Decimal(1), rounding=ROUND_CEILING))


def format_usd(micro_usd: int) -> str:
    """``1234`` → ``$0.0012``; display only (four decimals: single analyses cost fractions of a cent)."""
    dollars = Decimal(micro_usd) / Decimal(1_000_000)
    return f"${dollars.quantize(Decimal('0.0001'), rounding=ROUND_HALF_UP)}"


def lifecycle_warning(price: Price | None, model: str, today: date, *, warn_days: int = 30) -> str | None:
    """A sentence for ``doctor`` and admin alerts when a model has no price or is (nearly) shut down."""
    if price is None:
        return f"{model}: no price in the price table (a cloud call would cost an unknown amount)"
    if price.shutdown is None:
        return None
    days = (price.shutdown - today).days
    if days < 0:
        return f"{model}: shut down by the provider on {price.shutdown.isoformat()}; calls will fail"
    if days <= warn_days:
        return f"{model}: shuts down on {price.shutdown.isoformat()} (in {days} days); plan a replacement"
    return None
