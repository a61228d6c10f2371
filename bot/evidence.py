"""The plate's evidence on the card (pure, Telegram HTML): what was read on the plate, what to check, the
registered unit; and which identifiers a work order may carry as verified.

Kept apart from ``render`` so the card's layout and this provenance can change independently; ``render.card``
calls these few functions.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from pipeline.types import Receipt


def plate_receipt_line(receipt: Receipt, seconds: str) -> str:
    if receipt.source == "register":
        return f"from the equipment register ({_date(receipt.cached_at)}) · $0 · {seconds}"
    return f"read from the plate on this server, no model · $0 · {seconds}"


def _date(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment is not None else "earlier"


__all__ = ["escape", "plate_receipt_line"]
