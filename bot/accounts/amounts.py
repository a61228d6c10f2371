"""How money and counts read in admin replies: ``$5.00`` rather than ``$5.0000``, ``1 call`` not ``1 calls``.

Display only: amounts stay integer micro-USD everywhere they are stored or compared.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

MICRO = 1_000_000
_CENT = 10_000  # micro-USD


def usd(micro_usd: int) -> str:
    """Whole cents with two decimals (``$5.00``); smaller amounts with four (``$0.0012``), as single analyses
    cost fractions of a cent; an amount that would round to nothing says so instead of showing ``$0.0000``."""
    if micro_usd % _CENT == 0:
        return f"${Decimal(micro_usd) / MICRO:.2f}"
    if 0 < micro_usd < 50:
        return "under $0.0001"
    dollars = (Decimal(micro_usd) / MICRO).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    return f"${dollars}"


def count(n: int, one: str, many: str | None = None) -> str:
    """``count(1, "call")`` → ``1 call``; ``count(3, "call")`` → ``3 calls``; thousands separated."""
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def tokens(n: int) -> str:
    """Token counts short enough for a phone line: 950, 12.3k, 4.1M."""
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.1f}M"
