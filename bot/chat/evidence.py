"""The plate's evidence on the card (pure, Telegram HTML): what was read on the plate, what to check, the
registered unit; and which identifiers a work order may carry as verified.

Kept apart from ``render`` so the card's layout and this provenance can change independently; ``render.card``
calls ``evidence_lines`` and ``plate_receipt_line``. Every value from a model or the OCR is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any

from bot.i18n import N_, Translator, translator
from cmmsconnect import OutboxEntry
from pipeline.plate import FieldEvidence
from pipeline.sanitize import clean_text
from pipeline.types import Analysis, Receipt

IDENTIFIERS = ("manufacturer", "model", "serial_number")
_NAMES = {
    "manufacturer": N_("maker"),
    "model": N_("model"),
    "serial_number": N_("serial"),
    "fault_code": N_("fault code"),
}
EN = translator("en")


def evidence_lines(
    analysis: Analysis, receipt: Receipt, tr: Translator = EN, orders: Sequence[OutboxEntry] = ()
) -> list[str]:
    """Lines under the card's title: fields read on the plate, readings to check, the unit seen before and the
    work orders already filed for it (``orders``, newest first; a CMMS link where the CMMS gave one)."""
    lines: list[str] = []
    unit = receipt.known_unit
    if unit is not None and receipt.source != "register":
        lines.append(
            tr.gettext("🔁 Same unit as on {date}: {unit} (register {asset}).", date=_date(unit.last_seen_at),
                       unit=_v(unit.label), asset=escape(unit.asset))
        )  # fmt: skip
    if receipt.source == "register" and unit is not None:
        lines.append(
            tr.gettext(
                "🔁 I know this unit: {unit} (register {asset}), analysed on {date}. If something changed, add a "
                "caption or tap <b>Re-check</b>.",
                unit=_v(unit.label), asset=escape(unit.asset), date=_date(receipt.cached_at),
            )
        )  # fmt: skip
    if unit is not None and orders:
        listed = ", ".join(_order(entry, tr) for entry in orders)
        lines.append(tr.gettext("📋 Work orders for this unit: {orders}", orders=listed))
    if receipt.source == "plate":
        lines.append(
            tr.gettext(
                "📋 <b>Read from the plate only</b>: no analysis service could answer, so there is no diagnosis."
            )
        )
    evidence = receipt.evidence
    if evidence is None:
        return lines
    confirmed = [
        tr.gettext(_NAMES[f.field]) for f in evidence.fields if f.status == "confirmed" and f.field in IDENTIFIERS
    ]
    if confirmed:
        lines.append(tr.gettext("✅ Read on the plate: {fields}", fields=", ".join(confirmed)))
    for item in evidence.fields:
        if item.status == "near":
            lines.append(_near(item, tr))
        elif item.status == "contradicted":
            lines.append(_contradicted(item, tr))
    return lines


def _order(entry: OutboxEntry, tr: Translator) -> str:
    """One work order: its CMMS number (linked when the CMMS gave a URL), and its state and date."""
    name = escape(clean_text(entry.remote_id or "", multiline=False)[:32]) or f"#{entry.id}"
    if entry.remote_url and entry.remote_url.startswith(("https://", "http://")):
        name = f'<a href="{escape(entry.remote_url, quote=True)}">{name}</a>'
    if entry.status == "pending":
        state = tr.gettext("queued")
    elif entry.status == "dead":
        state = tr.gettext("not delivered")
    else:
        state = tr.gettext("filed")
    return f"{name} ({state} {_date(entry.created_at)})"


def _near(item: FieldEvidence, tr: Translator) -> str:
    name = tr.gettext(_NAMES[item.field]).capitalize()
    both = tr.gettext(
        "I read <code>{claimed}</code>, the plate reads <code>{plate}</code>", claimed=_v(item.claimed),
        plate=_v(item.plate),
    )  # fmt: skip
    if item.position is None:
        return f"⚠️ {name}: " + tr.gettext("{both}. Please check it on the plate.", both=both)
    if item.claimed_char and item.plate_char:
        which = tr.gettext(
            "character {n} (<code>{a}</code> or <code>{b}</code>?)", n=item.position, a=_v(item.claimed_char),
            b=_v(item.plate_char),
        )  # fmt: skip
    elif item.plate_char:
        which = tr.gettext(
            "whether there is a <code>{b}</code> at character {n}", b=_v(item.plate_char), n=item.position
        )
    else:
        which = tr.gettext(
            "whether character {n} (<code>{a}</code>) is really there", n=item.position, a=_v(item.claimed_char)
        )
    return f"⚠️ {name}: " + tr.gettext("{both}. Please check {which}.", both=both, which=which)


def _contradicted(item: FieldEvidence, tr: Translator) -> str:
    name = tr.gettext(_NAMES[item.field]).capitalize()
    return f"❗ {name}: " + tr.gettext(
        "the analysis says <code>{claimed}</code> but the plate says <code>{plate}</code>. Please check which is "
        "right before filing.",
        claimed=_v(item.claimed), plate=_v(item.plate),
    )  # fmt: skip


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
