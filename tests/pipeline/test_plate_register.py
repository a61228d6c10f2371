"""The equipment register: what may enter it (pure) and what finds a unit again (real database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pipeline.plate.evidence import Evidence, FieldEvidence, Status
from pipeline.plate.extract import extract
from pipeline.plate.register import Enrolment, Register, enrolment
from pipeline.plate.types import OcrLine, PlateReading
from pipeline.types import Analysis

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def reading(*texts: str) -> PlateReading:
    lines = tuple(
        OcrLine(t, 0.99, ((50.0, 50.0 + 50 * i), (600.0, 50.0 + 50 * i), (600.0, 80.0 + 50 * i), (50.0, 80.0 + 50 * i)))
        for i, t in enumerate(texts)
    )
    return PlateReading(lines, extract(lines))


def answer(maker: str | None, serial: str | None) -> Analysis:
    return Analysis(equipment_type="motor", manufacturer=maker, serial_number=serial, confidence=0.9)


def ev(serial: Status, maker: Status = "absent") -> Evidence:
    return Evidence((FieldEvidence("manufacturer", "m", maker), FieldEvidence("serial_number", "s", serial)), read=True)


@pytest.mark.parametrize(
    ("analysis", "evidence", "plate", "expected"),
    [
        (answer("Siemens AG", "UD 1402"), ev("confirmed"), reading("x"), Enrolment("Siemens", "UD 1402")),
        (answer(None, "UD 1402"), ev("confirmed"), reading("ABB"), Enrolment("ABB", "UD 1402")),
        (answer("Acme Pumps", "9911"), ev("confirmed", "confirmed"), reading("x"), Enrolment("Acme Pumps", "9911")),
        (answer("Acme Pumps", "9911"), ev("confirmed"), reading("x"), Enrolment("", "9911")),  # unconfirmed maker
        (answer("Siemens", "UD 1402"), ev("near"), reading("x"), None),
        (answer("Siemens", "UD 1402"), ev("absent"), reading("x"), None),
        (answer("Siemens", "UD 1402"), ev("contradicted"), reading("x"), None),
        (answer("Siemens", "A1"), ev("confirmed"), reading("x"), None),  # too short to recognise a unit by
    ],
)
def test_only_confirmed_serials_are_registered(
    analysis: Analysis, evidence: Evidence, plate: PlateReading, expected: Enrolment | None
) -> None:
    assert enrolment(analysis, evidence, [plate]) == expected


async def test_find_by_serial_in_the_text_and_never_across_makers(sessions: async_sessionmaker[AsyncSession]) -> None:
    register = Register(sessions)
    async with sessions.begin() as session:
        siemens = Enrolment("Siemens", "UD 1402/1234567-001")
        await register.enroll(session, siemens, model="1LE1", equipment_type="motor", analysis_id=7, now=NOW)
        unknown_maker = Enrolment("", "8046 2231")
        await register.enroll(session, unknown_maker, model=None, equipment_type=None, analysis_id=None, now=NOW)
    found = await register.find([reading("Motor", "S/N: UD-1402 1234567 001")])
    assert found is not None and found.manufacturer == "Siemens" and found.asset == f"EQ-{found.id}"
    assert await register.find([reading("SIEMENS", "S/N UD 1402/1234567-001")]) is not None
    assert await register.find([reading("ABB", "S/N UD 1402/1234567-001")]) is None, "another maker's plate"
    assert await register.find([reading("S/N UD 1402/1234567-0015")]) is None, "a longer serial is another unit"
    assert await register.find([reading("S/N 1402/1234567")]) is None
    assert await register.find([reading("Fabrikations-Nr. 8046 2231")]) is not None  # maker unknown: any plate
    assert await register.find([reading("nothing here")]) is None
    assert await register.find([]) is None

    async with sessions.begin() as session:  # seen again with a newer analysis: one unit, pointing at it
        same = Enrolment("Siemens", "UD1402/1234567-001")
        await register.enroll(session, same, model="1LE1", equipment_type="motor", analysis_id=9, now=NOW)
    again = await register.find([reading("SIEMENS", "S/N UD 1402/1234567-001")])
    assert again is not None and again.analysis_id == 9 and again.id == found.id
