"""The equipment register: what may enter it (pure) and what finds a unit again (real database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pipeline.models import Photo as PhotoRow
from pipeline.plate.evidence import Evidence, FieldEvidence, Status
from pipeline.plate.extract import extract
from pipeline.plate.register import Enrolment, Register, disagreements, enrolment, news
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


# What the register holds of a Siemens motor: its identifiers as recorded, and what the reader read on its first
# photo (the rating line was missed there).
IDS = ("Siemens", "1LE1001-1DB23-4AA4", "UD 1402/1234567-001", "motor")
READ_BEFORE = ("SIEMENS", "TYPE 1LE1001-1DB23-4AA4", "S/N UD 1402/1234567-001")


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (READ_BEFORE, ()),  # the plate again
        (("S/N UD 1402/1234567-001",), ()),  # fewer lines read this time
        ((*READ_BEFORE, "7.5 kW 400 V 50 Hz", "IP55", "cos φ 0.82 1460 rpm"), ()),  # ratings the first missed
        (("S/N UD 1402/1234567-001", "IEC 60034-1 S1 Th.Cl. F 38 kg IE3"), ()),  # the plate's small print
        (("S/N: UD1402 1234567 001", "Typ 1LE1001 1DB23 4AA4"), ()),  # boxes split and labelled otherwise
        (("SIEMENS", "TYPE 1LE1001-1D823-4AA4"), ()),  # one glyph misread, in a long word read before
        (("S/N UD 1402/1234567-001", "TYPE"), ()),  # a label alone
        (("S/N UD 1402/1234567-001", "F07801"), ("F07801",)),  # a Siemens fault, not read as a code
        (("S/N UD 1402/1234567-001", "oC"), ("oC",)),  # a 7-segment over-current
        (("S/N UD 1402/1234567-001", "2310"), ("2310",)),  # an ABB fault number
        (("S/N UD 1402/1234567-001", "RUN 3247"), ("RUN 3247",)),  # a display reading
        (("S/N UD 1402/1234567-001", "Pump 3 stopped"), ("Pump 3 stopped",)),  # a handwritten tag
        (("S/N UD 1402/1234567-001", "TYPE 1LE1001-1DB23-4BB5"), ("TYPE 1LE1001-1DB23-4BB5",)),  # another type
        (("S/N UD 1402/1234567-001", "ABB"), ("ABB",)),  # another maker's name
    ],
)
def test_news_is_what_a_photo_shows_beyond_the_plate_on_record(
    texts: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    assert news([reading(*texts)], IDS, READ_BEFORE) == expected


def test_one_glyph_off_a_recorded_identifier_is_news_unless_the_reader_read_it_so_before() -> None:
    """A model's misread type code (one character off) must not let the plate's true one pass as known."""
    recorded = ("Siemens", "1LE1001-1DB23-4AA7", "UD 1402/1234567-001")
    assert news([reading("TYPE 1LE1001-1DB23-4AA4")], recorded, ("S/N UD 1402/1234567-001",))
    assert not news([reading("TYPE 1LE1001-1DB23-4AA4")], recorded, ("TYPE 1LE1001-1DB23-4AA4",))


@pytest.mark.parametrize(
    ("status", "expected"),
    [("confirmed", ()), ("absent", ()), ("near", ("serial_number: s",)), ("contradicted", ("serial_number: s",))],
)
def test_an_identifier_the_new_plate_reads_otherwise_is_a_disagreement(
    status: Status, expected: tuple[str, ...]
) -> None:
    evidence = Evidence((FieldEvidence("serial_number", "UD 1402", status, plate="s"),), read=True)
    assert disagreements(evidence) == expected


async def test_the_text_read_before_is_the_one_stored_with_the_photos(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    register = Register(sessions)
    plate = reading("SIEMENS", "S/N UD 1402/1234567-001")
    async with sessions.begin() as session:
        session.add(PhotoRow(sha256="a" * 64, phash=1, width=9, height=9, byte_size=9, plate_text=plate.to_json()))
        session.add(PhotoRow(sha256="b" * 64, phash=2, width=9, height=9, byte_size=9, plate_text=None))
        session.add(PhotoRow(sha256="c" * 64, phash=3, width=9, height=9, byte_size=9, plate_text=plate.to_json()))
    assert await register.plate_text(["a" * 64, "b" * 64]) == ["SIEMENS", "S/N UD 1402/1234567-001"]
    assert await register.plate_text(["d" * 64]) == []
