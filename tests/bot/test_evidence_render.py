"""The card's evidence lines and a card's work-order flags (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.chat import render
from bot.chat.evidence import evidence_lines, provenance, work_order_flags
from pipeline.plate.evidence import Evidence, FieldEvidence
from pipeline.plate.register import KnownUnit
from pipeline.types import Analysis, Receipt

DAY = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
ANALYSIS = Analysis(equipment_type="motor", manufacturer="WEG", model="W22", serial_number="1019283746", confidence=0.9)


def receipt(*fields: FieldEvidence, source: str = "model", unit: KnownUnit | None = None) -> Receipt:
    return Receipt(
        request_id="r", source=source, tier="gemini", model="m", confidence=0.9, cost_micro_usd=0, duration_ms=900,  # type: ignore[arg-type]
        attempts=[], evidence=Evidence(fields, read=True), known_unit=unit, cached_at=DAY,
    )  # fmt: skip


def test_confirmed_near_and_contradicted() -> None:
    lines = evidence_lines(
        ANALYSIS,
        receipt(
            FieldEvidence("serial_number", "1019283746", "confirmed", plate="S/N 1019283746"),
            FieldEvidence("model", "W22 <b>", "contradicted", plate="W21\u202e"),
            FieldEvidence("manufacturer", "WEG", "near", plate="WEC", position=3, claimed_char="G", plate_char="C"),
        ),
    )
    assert lines[0] == "✅ Read on the plate: serial"
    assert lines[1] == (
        "❗ Model: the analysis says <code>W22 &lt;b&gt;</code> but the plate says <code>W21</code>. "
        "Please check which is right before filing."
    ), "escaped, and the bidi override removed"
    assert "check character 3 (<code>G</code> or <code>C</code>?)" in lines[2]


def test_a_missing_or_extra_character_is_named() -> None:
    missing = FieldEvidence("serial_number", "10192837", "near", plate="101928374", position=9, plate_char="4")
    extra = FieldEvidence("serial_number", "1019283746", "near", plate="101928374", position=10, claimed_char="6")
    assert "whether there is a <code>4</code> at character 9" in evidence_lines(ANALYSIS, receipt(missing))[0]
    assert "whether character 10 (<code>6</code>) is really there" in evidence_lines(ANALYSIS, receipt(extra))[0]


def test_known_unit_and_free_answers() -> None:
    unit = KnownUnit(3, "WEG", "1019283746", "W22", "motor", 5, DAY, DAY)
    assert evidence_lines(ANALYSIS, receipt(unit=unit))[0].startswith("🔁 Same unit as on 2026-11-28: WEG W22")
    known = render.card(ANALYSIS, receipt(unit=unit, source="register"))
    assert "I know this unit: WEG W22, S/N 1019283746 (register EQ-3)" in known
    assert "from the equipment register · $0 · 0.9 s" in known
    plate = render.card(ANALYSIS, receipt(source="plate"))
    assert "Read from the plate only" in plate and "no model · $0" in plate


def test_work_orders_trust_only_what_the_plate_confirmed() -> None:
    confirmed = FieldEvidence("serial_number", "1019283746", "confirmed")
    near = FieldEvidence("model", "W22", "near")
    unit = KnownUnit(3, "WEG", "1019283746", "W22", "motor", 5, DAY, DAY)
    flags = work_order_flags(provenance(ANALYSIS, receipt(confirmed, near, unit=unit)))
    assert flags == {"unverified": ("manufacturer", "model"), "asset": "EQ-3"}
    plate_only = work_order_flags(provenance(ANALYSIS, receipt(confirmed, source="plate")))
    assert plate_only["unverified"] == ("manufacturer", "model", "serial_number"), "OCR alone verifies nothing"
    assert work_order_flags(None)["unverified"] == ("manufacturer", "model", "serial_number")


def test_a_known_units_work_orders_are_listed_with_links() -> None:
    from cmmsconnect import OutboxEntry

    def entry(n: int, status: str, url: str | None) -> OutboxEntry:
        return OutboxEntry(
            id=n, key=f"tg-1-{n}", backend="atlas", status=status, title="t", reporter_id=1, chat_id=1, message_id=n,
            remote_id=f"WO-{n}" if status != "pending" else None, remote_url=url, attempts=0, last_error=None,
            next_attempt_at=DAY, created_at=DAY, delivered_at=None,
        )  # fmt: skip

    unit = KnownUnit(3, "WEG", "1019283746", "W22", "motor", 5, DAY, DAY)
    orders = [entry(9, "delivered", "https://cmms.example/wo/9?a=1&b=2"), entry(8, "pending", None),
              entry(7, "created", "javascript:alert(1)")]  # fmt: skip
    lines = evidence_lines(ANALYSIS, receipt(unit=unit), orders=orders)
    assert lines[1] == (
        '📋 Work orders for this unit: <a href="https://cmms.example/wo/9?a=1&amp;b=2">WO-9</a> (filed 2026-11-28), '
        "#8 (queued 2026-11-28), WO-7 (filed 2026-11-28)"
    ), "a link only to a web address; the rest as plain numbers"
    assert len(evidence_lines(ANALYSIS, receipt(), orders=orders)) == 0, "no unit, no list"
