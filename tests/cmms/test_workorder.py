"""Table tests of the pure mapping analysis → WorkOrder (title, description, priority)."""

from __future__ import annotations

from typing import Any

import pytest

from cmmsconnect import Reporter
from cmmsconnect.workorder import (
    AI_NOTICE,
    DESCRIPTION_MAX,
    TITLE_MAX,
    WorkOrder,
    build_description,
    build_title,
    work_order_from_analysis,
)
from tests.cmms.conftest import ANALYSIS, T0, make_wo


@pytest.mark.parametrize(
    ("fields", "title"),
    [
        (ANALYSIS, "Allen-Bradley PowerFlex 525 – F004 overcurrent"),
        ({**ANALYSIS, "fault_codes": ["F004", "F005", "F006"]}, "Allen-Bradley PowerFlex 525 – F004, F005"),
        ({**ANALYSIS, "model": None}, "Allen-Bradley – F004 overcurrent"),
        ({"equipment_type": "motor", "summary": "Bearing noise. Replace soon."}, "motor – Bearing noise"),
        ({"condition": "warning"}, "Equipment – condition warning"),
        ({}, "Equipment – inspection"),
        ({"manufacturer": "  Siemens ", "model": "null", "fault_codes": "F30001"}, "Siemens – F30001"),
    ],
)
def test_title(fields: dict[str, Any], title: str) -> None:
    assert build_title(fields) == title


def test_title_is_truncated() -> None:
    title = build_title({"manufacturer": "X" * 200, "fault_codes": ["F1"]})
    assert len(title) == TITLE_MAX and title.endswith("…")


@pytest.mark.parametrize(
    ("priority", "expected"),
    [("low", "low"), ("HIGH", "high"), ("urgent", "urgent"), ("critical", "medium"), (None, "medium")],
)
def test_priority_is_normalised(priority: object, expected: str) -> None:
    assert make_wo(priority=priority).priority == expected


def test_description_has_everything_and_ends_with_ref() -> None:
    text = build_description(ANALYSIS, key="tg-1-2", reporter=Reporter(42, "Dana"), chat_id=1, message_id=2)
    for part in (
        "Drive tripped on overcurrent",
        "Equipment: Allen-Bradley PowerFlex 525 (VFD)",
        "Serial number: SN-1234",
        "Ratings: voltage 480 V; power 7.5 kW",
        "Fault codes: F004 overcurrent",
        "- Check motor insulation",
        "Safety notes:\n- Lock out before opening the cabinet",
        "Reported by Dana (Telegram user 42), chat 1 message 2",
        AI_NOTICE,
    ):
        assert part in text
    assert text.endswith("\n[ref:tg-1-2]")


def test_description_without_serial_and_overlong_keeps_marker() -> None:
    fields = {"summary": "word " * 5000, "serial_number": None}
    text = build_description(fields, key="k1", reporter=Reporter(1, "A"), chat_id=None, message_id=None)
    assert "Serial number: not read from the photo" in text
    assert len(text) <= DESCRIPTION_MAX and text.endswith("[ref:k1]")


def test_work_order_carries_equipment_and_source() -> None:
    wo = make_wo(photo=b"jpeg")
    assert (wo.manufacturer, wo.model, wo.serial_number, wo.equipment_type) == (
        "Allen-Bradley",
        "PowerFlex 525",
        "SN-1234",
        "VFD",
    )
    assert (wo.chat_id, wo.message_id, wo.reporter.id, wo.created_at) == (1, 2, 42, T0)
    assert wo.fault_codes == ("F004 overcurrent",) and wo.photo == b"jpeg" and wo.ref == "[ref:tg-1-2]"


@pytest.mark.parametrize("key", ["", "has space", "x" * 65, "semi;colon"])
def test_bad_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="key"):
        make_wo(key)


def flagged(**flags: Any) -> WorkOrder:
    return work_order_from_analysis(
        ANALYSIS, key="k", photo=None, reporter=Reporter(1, "A"), chat_id=None, message_id=None, **flags
    )


def test_unverified_identifiers_are_marked_and_kept_out_of_equipment_matching() -> None:
    wo = flagged(unverified=("serial_number", "model"), asset="EQ-7")
    assert (wo.manufacturer, wo.model, wo.serial_number) == ("Allen-Bradley", None, None)
    assert "Serial number: SN-1234 (unverified: read by AI, not confirmed on the nameplate)" in wo.description
    assert "Equipment: Allen-Bradley PowerFlex 525 (VFD) (model unverified" in wo.description
    assert "Asset: EQ-7 (equipment register" in wo.description
    assert wo.title.startswith("Allen-Bradley PowerFlex 525"), "the title still names what the photo showed"
    verified = flagged()
    assert verified.serial_number == "SN-1234" and "unverified" not in verified.description
    with pytest.raises(ValueError, match="unknown identifiers"):
        flagged(unverified=("summary",))
