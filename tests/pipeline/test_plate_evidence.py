"""The plate's verdict on a model's claims (pure): confirmed, near (which character), contradicted, absent."""

from __future__ import annotations

import pytest

from pipeline.plate.evidence import Evidence, check
from pipeline.plate.extract import extract
from pipeline.plate.normal import edit_ratio, norm, one_edit
from pipeline.plate.types import OcrLine, PlateReading


def reading(*texts: str, score: float = 0.99) -> PlateReading:
    lines = tuple(
        OcrLine(
            t, score, ((50.0, 50.0 + 50 * i), (600.0, 50.0 + 50 * i), (600.0, 80.0 + 50 * i), (50.0, 80.0 + 50 * i))
        )
        for i, t in enumerate(texts)
    )
    return PlateReading(lines, extract(lines))


PLATE = reading("SIEMENS", "TYPE 1LE1001-1DB23-4AA4", "S/N UD 1402/1234567-001", "7.5 kW 400 V")


def test_normalisation_folds_what_plates_and_models_disagree_on() -> None:
    assert norm("1le1001-1db23-4aa4") == norm("1LE1OO1 1DB23 4AA4") == "11E10011DB234AA4"
    assert norm("GDZ80×73-2.2") == norm("gdz80x73-2.2")
    assert edit_ratio("ABCDEF", "ABCDEF") == 0.0 and edit_ratio("ABCDEF", "ABCDEX") == pytest.approx(1 / 6)


@pytest.mark.parametrize(
    ("claimed", "haystack", "position", "claimed_char", "plate_char"),
    [
        ("022GS404061058", "022GS404061059", 14, "8", "9"),
        ("022GS404O61058", "S/N 022GS404061058", None, "", ""),  # O/0 folded: not a difference at all
        ("022GS40406105", "022GS404061058", 14, "", "8"),  # the plate has one more character
        ("022GS4040610588", "022GS404061058", 14, "8", ""),  # the claim has one more
        ("HY02D223B", "HY02D228B", 8, "3", "8"),
    ],
)
def test_one_edit_names_the_character(
    claimed: str, haystack: str, position: int | None, claimed_char: str, plate_char: str
) -> None:
    edit = one_edit(claimed, haystack)
    if position is None:
        assert edit is None
        return
    assert edit is not None
    assert (edit.position, edit.claimed, edit.plate) == (position, claimed_char, plate_char)


def claims(maker: str | None = None, model: str | None = None, serial: str | None = None) -> dict[str, str | None]:
    return {"manufacturer": maker, "model": model, "serial_number": serial}


@pytest.mark.parametrize(
    ("claim", "field", "status", "plate"),
    [
        (claims(serial="1402/1234567-001"), "serial_number", "confirmed", "S/N UD 1402/1234567-001"),
        (claims(serial="UD 1402 1234567 001"), "serial_number", "confirmed", None),  # spacing and punctuation
        (claims(model="1LE1OO1-1DB23-4AA4"), "model", "confirmed", None),  # O/0
        (claims(maker="Siemens AG"), "manufacturer", "confirmed", None),
        (claims(maker="SIEMENS"), "manufacturer", "confirmed", "Siemens"),
        (claims(serial="1402/1234567-007"), "serial_number", "near", "1402/1234567-001"),
        (claims(model="1LE1001-1DB23-4AA5"), "model", "near", "1LE1001-1DB23-4AA4"),
        (claims(serial="98765432"), "serial_number", "contradicted", "1402/1234567-001"),
        (claims(model="1LA7163-4AA60"), "model", "contradicted", "1LE1001-1DB23-4AA4"),
        (
            claims(maker="ABB"),
            "manufacturer",
            "absent",
            None,
        ),  # no labelled maker: an unlabelled brand cannot contradict
        (claims(serial="1402/12"), "serial_number", "contradicted", None),  # a truncated serial is not confirmed
        (claims(serial="1402/1234567-00"), "serial_number", "near", "1402/1234567-001"),
    ],
)
def test_claims_against_the_plate(claim: dict[str, str | None], field: str, status: str, plate: str | None) -> None:
    evidence = check(claim, [], [PLATE])
    found = evidence.get(field)
    assert found is not None and found.status == status
    if plate is not None:
        assert found.plate == plate


def test_absent_when_the_plate_has_no_label_for_it() -> None:
    plate = reading("7.5 kW 400 V 14.1 A")
    evidence = check(claims(maker="WEG", model="W22", serial="1019283746"), [], [plate])
    assert [f.status for f in evidence.fields] == ["absent", "absent", "absent"]
    assert not evidence.contradicted


def test_a_shaky_label_cannot_contradict() -> None:
    plate = reading("S/N 55554444", score=0.6)
    assert check(claims(serial="12121212"), [], [plate]).status("serial_number") == "absent"


def test_short_values_need_a_whole_box() -> None:
    plate = reading("TYPE W22 S/N 1019283746", "W22")
    assert check(claims(model="W22"), [], [plate]).status("model") == "confirmed"
    assert check(claims(model="101"), [], [reading("S/N 1019283746")]).status("model") == "absent"


def test_fault_codes_are_confirmed_or_absent_never_contradicted() -> None:
    display = reading("F004", "RUN")
    evidence = check(claims(), ["F004", "F012"], [display])
    assert [(f.claimed, f.status) for f in evidence.fields] == [("F004", "confirmed"), ("F012", "absent")]


def test_value_split_over_boxes_of_one_row_is_confirmed() -> None:
    row = (
        OcrLine("S/N", 0.99, ((50, 50), (100, 50), (100, 80), (50, 80))),
        OcrLine("1234", 0.99, ((120, 50), (200, 50), (200, 80), (120, 80))),
        OcrLine("5678", 0.99, ((220, 50), (300, 50), (300, 80), (220, 80))),
    )
    evidence = check(claims(serial="1234 5678"), [], [PlateReading(row, extract(row))])
    assert evidence.status("serial_number") == "confirmed"


def test_nothing_read_is_no_evidence() -> None:
    evidence = check(claims(serial="12345678"), ["F1"], [PlateReading((), extract([]))])
    assert evidence == Evidence() and not evidence.read


def test_evidence_round_trips_through_json() -> None:
    evidence = check(claims(model="1LE1001-1DB23-4AA5", serial="98765432"), [], [PLATE])
    assert Evidence.from_json(evidence.to_json()) == evidence
