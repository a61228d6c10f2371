"""List prices from ``genai-prices`` (Pydantic's maintained, dated price database), read offline.

The package ships its data inside the wheel; we only ever read that bundled snapshot. Its optional updater
(``genai_prices.UpdatePrices``) fetches newer data from the network in a background thread: we never start it,
so prices change only when the admin upgrades the package (``pip install -U genai-prices``) or edits the
override file. genai-prices' own ``calc_price`` is not used for the bill: we take its *rates* (USD per 1M
tokens, with its price history and its "whole prompt above N tokens" tiers) and do the arithmetic ourselves in
integer micro-USD, so a price from the override file and one from genai-prices are charged the same way.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from importlib.metadata import version

from genai_prices import data_snapshot
from genai_prices import types as gp

from pipeline.costs import Price, PriceTier

#: Our provider names → genai-prices provider ids.
PROVIDER_IDS = {"google": "google", "xai": "x-ai", "anthropic": "anthropic", "openai": "openai"}


def source_label() -> str:
    return f"genai-prices {version('genai-prices')}"


def load_catalogue() -> None:
    """Import the bundled price data (a large module) so the first lookup does not pay for it."""
    data_snapshot.get_snapshot()


def catalogue_price(model: str, provider: str | None, on: date) -> Price | None:
    """The list price genai-prices has for ``model`` on ``on``, or None when it does not know the model.

    Without a provider, the four providers the bot talks to are tried in a fixed order (never a reseller's
    copy of the model, which genai-prices also lists).
    """
    snapshot = data_snapshot.get_snapshot()
    providers = [provider] if provider is not None else list(PROVIDER_IDS)
    for name in providers:
        provider_id = PROVIDER_IDS.get(name)
        if provider_id is None:
            continue
        try:
            _provider, info = snapshot.find_provider_model(model, None, provider_id, None)
        except LookupError:
            continue
        return _price(model, name, info, on)
    return None


def _price(model: str, provider: str, info: gp.ModelInfo, on: date) -> Price | None:
    when = datetime(on.year, on.month, on.day, tzinfo=UTC)
    rates = info.get_prices(when)
    input_rate, output_rate = getattr(rates, "input_mtok", None), getattr(rates, "output_mtok", None)
    if input_rate is None or output_rate is None:
        return None  # a model genai-prices lists without token prices is not priced, never free
    return Price(
        model=model,
        provider=provider,
        input_per_m=_base(input_rate),
        output_per_m=_base(output_rate),
        effective=_since(info, when),
        shutdown=None,
        tiers=_tiers(input_rate, output_rate),
        source=source_label() + (f" ({info.id}, listed as deprecated)" if info.deprecated else f" ({info.id})"),
    )


def _base(rate: Decimal | gp.TieredPrices) -> Decimal:
    return rate.base if isinstance(rate, gp.TieredPrices) else Decimal(rate)


def _rate_above(rate: Decimal | gp.TieredPrices, tokens: int) -> Decimal:
    """genai-prices' rule: the highest tier whose start the prompt's input tokens exceed prices every token."""
    if not isinstance(rate, gp.TieredPrices):
        return Decimal(rate)
    applicable = rate.base
    for tier in sorted(rate.tiers, key=lambda t: t.start):
        if tokens > tier.start:
            applicable = tier.price
    return applicable


def _tiers(input_rate: Decimal | gp.TieredPrices, output_rate: Decimal | gp.TieredPrices) -> tuple[PriceTier, ...]:
    """Merge input and output tiers into one list of thresholds on the prompt's input tokens."""
    starts: set[int] = set()
    for rate in (input_rate, output_rate):
        if isinstance(rate, gp.TieredPrices):
            starts.update(tier.start for tier in rate.tiers)
    return tuple(
        PriceTier(above_input_tokens=start, input_per_m=_rate_above(input_rate, start + 1),
                  output_per_m=_rate_above(output_rate, start + 1))
        for start in sorted(starts)
    )  # fmt: skip


def _since(info: gp.ModelInfo, when: datetime) -> date | None:
    """The start date of the price in force (genai-prices keeps price history as dated conditional prices)."""
    if not isinstance(info.prices, list):
        return None
    for conditional in reversed(info.prices):
        constraint = conditional.constraint
        if constraint is None:
            return None
        if isinstance(constraint, gp.StartDateConstraint) and constraint.active(when):
            return constraint.start_date
    return None
