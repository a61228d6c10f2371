"""Prices as dated data, and cost arithmetic in integer micro-USD.

Where a price comes from, first match wins (``PriceTable.lookup``):

1. the admin's override file (``PRICES_PATH``): negotiated prices, or a model nobody else lists yet;
2. ``genai-prices``' bundled data (``pipeline/price_catalogue.py``), the maintained list prices;
3. the project's own fill-in file ``pipeline/prices.json`` for models genai-prices lacks, each row with
   its source and the day it was read.

Lifecycle facts (announced shutdown dates, named replacements) are dated rows in the same files: the shipped
``prices.json`` and, on top, the admin's file. A model with no price anywhere has no ``Price``: the cascade
refuses to call it and the admins hear about it, it is never treated as free.

Rates are USD per 1M tokens, so the cost of ``n`` tokens in micro-USD is exactly ``n × rate``. Tiered prices
follow the providers' (and genai-prices') rule: when the prompt's input tokens exceed a tier's threshold,
that tier's rates apply to *every* token of the call. The Decimal sum is rounded half-up to a whole
micro-dollar once per call, so sums over the ledger are exact integers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from pipeline.types import Usage


class PriceTableError(ValueError):
    """The price file is malformed."""


@dataclass(frozen=True)
class PriceTier:
    """Rates for every token of a call whose prompt has more than ``above_input_tokens`` input tokens."""

    above_input_tokens: int
    input_per_m: Decimal
    output_per_m: Decimal


@dataclass(frozen=True)
class Price:
    model: str
    provider: str
    input_per_m: Decimal
    output_per_m: Decimal
    effective: date | None  # first day in force; None when the source does not date it
    shutdown: date | None
    tiers: tuple[PriceTier, ...] = ()
    source: str = ""  # where the rates come from, e.g. "genai-prices 0.2.3 (grok-4.3)"
    checked: date | None = None  # the day the source was read, for rows transcribed by hand
    replacement: str | None = None  # the provider's named successor, when it announced a shutdown
    lifecycle_source: str = ""

    def rates(self, input_tokens: int) -> tuple[Decimal, Decimal]:
        """(input, output) USD per 1M tokens for a call with this many input tokens."""
        rates = (self.input_per_m, self.output_per_m)
        for tier in sorted(self.tiers, key=lambda t: t.above_input_tokens):
            if input_tokens > tier.above_input_tokens:
                rates = (tier.input_per_m, tier.output_per_m)
        return rates

    def describe(self) -> str:
        """``$0.10 / $0.50 per 1M tokens (≤100k prompt; $0.50 / $2.50 above), genai-prices 0.2.3 (…)``."""
        text = f"${self.input_per_m} / ${self.output_per_m} per 1M tokens in/out"
        for tier in self.tiers:
            text += f", ${tier.input_per_m} / ${tier.output_per_m} above {tier.above_input_tokens:,} prompt tokens"
        dated = f"in force since {self.effective.isoformat()}" if self.effective else ""
        if self.checked:
            dated = ", ".join(filter(None, [dated, f"read {self.checked.isoformat()}"]))
        return f"{text}; {self.source}" + (f", {dated}" if dated else "")


@dataclass(frozen=True)
class Lifecycle:
    model: str
    shutdown: date | None
    replacement: str | None
    source: str
    checked: date | None


Catalogue = Callable[[str, "str | None", date], "Price | None"]


class PriceTable:
    """Dated prices and lifecycle facts. ``PriceTable(rows)`` knows only ``rows`` (tests, benchmarks);
    ``PriceTable.load()`` adds genai-prices, the shipped fill-ins and the admin's overrides."""

    def __init__(
        self,
        prices: list[Price],
        *,
        fill_ins: list[Price] | None = None,
        catalogue: Catalogue | None = None,
        lifecycle: list[Lifecycle] | None = None,
    ) -> None:
        self._overrides = _by_model(prices)
        self._fill_ins = _by_model(fill_ins or [])
        self._catalogue = catalogue
        self._lifecycle = {row.model: row for row in lifecycle or []}

    @classmethod
    def load(cls, path: Path | None = None) -> PriceTable:
        """genai-prices + ``pipeline/prices.json``, with the admin's file at ``path`` (``PRICES_PATH``) on top."""
        from pipeline.price_catalogue import catalogue_price, load_catalogue

        # Read genai-prices' bundled data now (seconds on a busy machine), at start-up, not inside the event
        # loop on the first photo, where it would stall every chat.
        load_catalogue()
        shipped = resources.files("pipeline").joinpath("prices.json").read_text(encoding="utf-8")
        fill_ins, lifecycle = _parse(shipped, "pipeline/prices.json")
        overrides: list[Price] = []
        if path is not None:
            overrides, admin_lifecycle = _parse(Path(path).read_text(encoding="utf-8"), str(path))
            lifecycle = lifecycle + admin_lifecycle  # later rows win
        return cls(overrides, fill_ins=fill_ins, catalogue=catalogue_price, lifecycle=lifecycle)

    def lookup(self, model: str, on: date, provider: str | None = None) -> Price | None:
        """The price in force on ``on`` with the model's lifecycle facts; dated suffixes like ``-001`` or
        ``-20251001`` fall back to the base name."""
        price = self._find(model, on, provider)
        if price is None:
            return None
        for name in _candidate_names(model):
            if name in self._lifecycle:
                row = self._lifecycle[name]
                return replace(
                    price,
                    shutdown=row.shutdown,
                    replacement=row.replacement,
                    lifecycle_source=row.source + (f", read {row.checked.isoformat()}" if row.checked else ""),
                )
        return price

    def lifecycle(self, model: str) -> Lifecycle | None:
        for name in _candidate_names(model):
            if name in self._lifecycle:
                return self._lifecycle[name]
        return None

    def _find(self, model: str, on: date, provider: str | None) -> Price | None:
        for name in _candidate_names(model):
            if found := _in_force(self._overrides, name, on, provider):
                return found
        if self._catalogue is not None and (found := self._catalogue(model, provider, on)):
            return found
        for name in _candidate_names(model):
            if found := _in_force(self._fill_ins, name, on, provider):
                return found
        return None

    def models(self) -> list[str]:
        return sorted(set(self._overrides) | set(self._fill_ins))


def _by_model(prices: list[Price]) -> dict[str, list[Price]]:
    rows: dict[str, list[Price]] = {}
    for price in sorted(prices, key=lambda p: p.effective or date.min):
        rows.setdefault(price.model, []).append(price)
    return rows


def _in_force(rows: dict[str, list[Price]], name: str, on: date, provider: str | None) -> Price | None:
    matching = [
        p for p in rows.get(name, [])
        if (p.effective is None or p.effective <= on) and (provider is None or p.provider == provider)
    ]  # fmt: skip
    return matching[-1] if matching else None


def _candidate_names(model: str) -> list[str]:
    names = [model]
    parts = model.split("-")
    while len(parts) > 1 and (parts[-1].isdigit() or parts[-1] in {"latest", "preview"}):
        parts = parts[:-1]
        names.append("-".join(parts))
    return names


def _parse(text: str, source: str) -> tuple[list[Price], list[Lifecycle]]:
    try:
        data = json.loads(text)
        prices = [_price_from_row(row, source) for row in data.get("prices", [])]
        lifecycle = [_lifecycle_from_row(row, source) for row in data.get("lifecycle", [])]
    except (AttributeError, KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise PriceTableError(f"{source}: {exc}") from exc
    return prices, lifecycle


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def _price_from_row(row: dict[str, Any], source: str) -> Price:
    tiers = tuple(
        PriceTier(int(t["above_input_tokens"]), Decimal(str(t["input"])), Decimal(str(t["output"])))
        for t in row.get("tiers", [])
    )
    price = Price(
        model=str(row["model"]),
        provider=str(row["provider"]),
        input_per_m=Decimal(str(row["input"])),
        output_per_m=Decimal(str(row["output"])),
        effective=_date(row.get("effective")),
        shutdown=_date(row.get("shutdown")),
        tiers=tiers,
        source=f"{source}: {row['source']}" if row.get("source") else source,
        checked=_date(row.get("checked")),
    )
    rates = [price.input_per_m, price.output_per_m] + [r for t in tiers for r in (t.input_per_m, t.output_per_m)]
    if any(not rate.is_finite() or rate < 0 for rate in rates):
        raise PriceTableError(f"negative or invalid price for {price.model}")
    return price


def _lifecycle_from_row(row: dict[str, Any], source: str) -> Lifecycle:
    return Lifecycle(
        model=str(row["model"]),
        shutdown=_date(row.get("shutdown")),
        replacement=row.get("replacement") or None,
        source=f"{source}: {row['source']}" if row.get("source") else source,
        checked=_date(row.get("checked")),
    )


def cost_micro_usd(price: Price, usage: Usage) -> int:
    input_rate, output_rate = price.rates(usage.input_tokens)
    exact = usage.input_tokens * input_rate + usage.output_tokens * output_rate
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def estimate_micro_usd(price: Price, *, input_tokens: int, max_output_tokens: int) -> int:
    """Upper estimate used only to reserve budget before a call: rounded up, output at its maximum."""
    input_rate, output_rate = price.rates(input_tokens)
    exact = input_tokens * input_rate + max_output_tokens * output_rate
    return int(exact.quantize(Decimal(1), rounding=ROUND_CEILING))


def format_usd(micro_usd: int) -> str:
    """``1234`` → ``$0.0012``; display only (four decimals: single analyses cost fractions of a cent)."""
    dollars = Decimal(micro_usd) / Decimal(1_000_000)
    return f"${dollars.quantize(Decimal('0.0001'), rounding=ROUND_HALF_UP)}"


def lifecycle_warning(price: Price | None, model: str, today: date, *, warn_days: int = 30) -> str | None:
    """A sentence for ``doctor`` and admin alerts when a model has no price or is (nearly) shut down."""
    if price is None:
        return f"{model}: no price in genai-prices or the price files (a call would cost an unknown amount)"
    if price.shutdown is None:
        return None
    days = (price.shutdown - today).days
    successor = f"; the provider names {price.replacement}" if price.replacement else ""
    if days < 0:
        return f"{model}: shut down by the provider on {price.shutdown.isoformat()}; calls will fail{successor}"
    if days <= warn_days:
        return f"{model}: shuts down on {price.shutdown.isoformat()} (in {days} days){successor}"
    return None
