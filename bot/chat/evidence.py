"""The plate's evidence on the card (pure, Telegram HTML): what was read on the plate, what to check, the
registered unit; and which identifiers a work order may carry as verified.

Kept apart from ``render`` so the card's layout and this provenance can change independently; ``render.card``
calls ``evidence_lines`` and ``plate_receipt_line``. Every value from a model or the OCR is escaped.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from pipeline.plate import FieldEvidence
from pipeline.sanitize import clean_text
from pipeline.types import Analysis, Receipt

IDENTIFIERS = ("manufacturer", "model", "serial_number")
_NAMES = {"manufacturer": "maker", "model": "model", "serial_number": "serial", "fault_code": "fault code"}


def evidence_lines(analysis: Analysis, receipt: Receipt) -> list[str]:
    """Lines under the card's title: fields read on the plate, readings to check, the unit seen before."""
    lines: list[str] = []
    unit = receipt.known_unit
    if unit is not None and receipt.source != "register":
        lines.append(
            f"🔁 Same unit as on {_date(unit.last_seen_at)}: {_v(unit.label)} (register {escape(unit.asset)})."
        )
    if receipt.source == "register" and unit is not None:
        lines.append(
            f"🔁 I know this unit: {_v(unit.label)} (register {escape(unit.asset)}), analysed on "
            f"{_date(receipt.cached_at)}. If something changed, add a caption or tap <b>Re-check</b>."
        )
    if receipt.source == "plate":
        lines.append("📋 <b>Read from the plate only</b>: no analysis service could answer, so there is no diagnosis.")
    evidence = receipt.evidence
    if evidence is None:
        return lines
    confirmed = [_NAMES[f.field] for f in evidence.fields if f.status == "confirmed" and f.field in IDENTIFIERS]
    if confirmed:
        lines.append(f"✅ Read on the plate: {', '.join(confirmed)}")
    for item in evidence.fields:
        if item.status == "near":
            lines.append(_near(item))
        elif item.status == "contradicted":
            lines.append(_contradicted(item))
    return lines


def _near(item: FieldEvidence) -> str:
    name = _NAMES[item.field]
    both = f"I read <code>{_v(item.claimed)}</code>, the plate reads <code>{_v(item.plate)}</code>"
    if item.position is None:
        return f"⚠️ {name.capitalize()}: {both}. Please check it on the plate."
    if item.claimed_char and item.plate_char:
        which = (
            f"character {item.position} (<code>{_v(item.claimed_char)}</code> or <code>{_v(item.plate_char)}</code>?)"
        )
    elif item.plate_char:
        which = f"whether there is a <code>{_v(item.plate_char)}</code> at character {item.position}"
    else:
        which = f"whether character {item.position} (<code>{_v(item.claimed_char)}</code>) is really there"
    return f"⚠️ {name.capitalize()}: {both}. Please check {which}."


def _contradicted(item: FieldEvidence) -> str:
    name = _NAMES[item.field]
    return (
        f"❗ {name.capitalize()}: the analysis says <code>{_v(item.claimed)}</code> but the plate says "
        f"<code>{_v(item.plate)}</code>. Please check which is right before filing."
    )


def plate_receipt_line(receipt: Receipt, seconds: str) -> str:
    if receipt.source == "register":
        return f"from the equipment register · $0 · {seconds}"
    return f"read from the plate on this server, no model · $0 · {seconds}"


def provenance(analysis: Analysis, receipt: Receipt) -> dict[str, Any]:
    """What a work order may trust: identifiers the plate confirmed, the rest marked unverified, the unit."""
    verified: dict[str, str] = {}
    unverified: list[str] = []
    for name in IDENTIFIERS:
        if getattr(analysis, name) is None:
            continue
        if receipt.source != "plate" and receipt.evidence is not None and receipt.evidence.confirmed(name):
            verified[name] = "plate"
        else:
            unverified.append(name)
    unit = receipt.known_unit
    disputed = []  # readings the technician can settle with a tap (bot/chat/confirm.py)
    if receipt.evidence is not None and receipt.source == "model":
        for item in receipt.evidence.fields:
            if item.field in IDENTIFIERS and item.status in ("near", "contradicted") and item.plate:
                disputed.append({"field": item.field, "analysis": item.claimed, "plate": item.plate})
    return {
        "verified": verified,
        "unverified": unverified,
        "asset": unit.asset if unit is not None else None,
        "unit": unit.label if unit is not None else None,
        "disputed": disputed,
    }


def work_order_flags(provenance: dict[str, Any] | None) -> dict[str, Any]:
    """``work_order_from_analysis`` keywords from a card's provenance. A card from before the plate reader (no
    provenance) files its identifiers as unverified: nothing confirmed them."""
    if provenance is None:
        return {"unverified": IDENTIFIERS, "asset": None}
    return {"unverified": tuple(provenance.get("unverified", ())), "asset": provenance.get("asset")}


def _v(value: str | None) -> str:
    """A model's or the OCR's value on one line: no control/bidi characters, bounded, escaped."""
    return escape(clean_text(value or "?", multiline=False)[:120])


def _date(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment is not None else "an earlier day"
