"""Extraction is pure: OCR boxes in, fields out. Boxes are laid out as a detector reports them."""

from __future__ import annotations

import pytest

from pipeline.plate.extract import extract
from pipeline.plate.types import OcrLine


def box(text: str, x: float, y: float, w: float | None = None, h: float = 30, score: float = 0.99) -> OcrLine:
    width = w if w is not None else 18 * len(text)
    return OcrLine(text, score, ((x, y), (x + width, y), (x + width, y + h), (x, y + h)))


def rows(*texts: str) -> list[OcrLine]:
    """One box per row, stacked."""
    return [box(t, 50, 50 + 50 * i) for i, t in enumerate(texts)]


@pytest.mark.parametrize(
    ("lines", "serial", "model"),
    [
        (rows("S/N: 4711-0815"), "4711-0815", None),
        (rows("SER NO 123456", "TYPE 1LA7 163-4AA60"), "123456", "1LA7 163-4AA60"),
        (rows("Serial No.: A1B2C3D4"), "A1B2C3D4", None),
        (rows("Fabrikations-Nr. 8046 2231", "Typ: KA77 DT100L4"), "8046 2231", "KA77 DT100L4"),
        (rows("Masch.-Nr. 77/12345"), "77/12345", None),
        (rows("MOD. M3BP160", "SN: 3GBP161410"), "3GBP161410", "M3BP160"),
        (rows("MODEL NO. 25B-D4P0N114"), None, "25B-D4P0N114"),
        (rows("TYPE S/N 12345678"), "12345678", None),  # an empty TYPE is not a model
        (rows("Series: A"), None, None),  # a serial needs digits
        (rows("型号 HY02D223B"), None, "HY02D223B"),
        (rows("TYPE"), None, None),
        (rows("Modulation 5"), None, None),  # "MOD" inside a longer word is no label
    ],
)
def test_labelled_identifiers(lines: list[OcrLine], serial: str | None, model: str | None) -> None:
    fields = extract(lines)
    assert (fields.serial, fields.model) == (serial, model)


def test_value_in_the_box_to_the_right_or_below() -> None:
    right = [box("型号", 150, 260, w=120), box("HY02D223B", 530, 262, w=420), box("输入", 150, 330, w=120)]
    assert extract(right).model == "HY02D223B"
    below = [box("Model:", 816, 449, w=115, h=43), box("GDZ80×73-2.2", 813, 492, w=355, h=43)]
    fields = extract(below)
    assert fields.model == "GDZ80×73-2.2" and fields.labelled["model"].label == "Model"


def test_value_is_cut_at_the_next_label() -> None:
    fields = extract(rows("TYPE 1LE1001 S/N 998877"))
    assert (fields.model, fields.serial) == ("1LE1001", "998877")


def test_barcode_serial_when_no_label_but_not_a_phone_number() -> None:
    lines = rows("售后服务电话：400-606-8887", "022GS404061058", "HY02D223B")
    assert extract(lines).serial == "022GS404061058"
    assert "serial_number" not in extract(lines).labelled  # not labelled: cannot contradict a model
    assert extract(rows("400-606-8887 call us")).serial is None
    assert extract(rows("12345678", "some text")).serial == "12345678"
    assert extract([box("12345678", 50, 50, score=0.6)]).serial is None  # a shaky read is not a serial


@pytest.mark.parametrize(
    ("texts", "maker"),
    [
        (("SIEMENS", "TYPE 1LE1001"), "Siemens"),
        (("ABB Motors",), "ABB"),
        (("A-B", "Cat 22B-D4P0N104"), "Allen-Bradley"),
        (("Rockwell Automation",), "Allen-Bradley"),
        (("SIEMEMS",), "Siemens"),  # one misread letter in a long name
        (("玉环环洋电气制造",), "Huanyang"),
        (("Hersteller: Acme Antriebe GmbH",), "Acme Antriebe GmbH"),  # unknown brand, from its label
        (("ABC",), None),  # short names need an exact word
        (("NABBER 12",), None),
    ],
)
def test_manufacturer(texts: tuple[str, ...], maker: str | None) -> None:
    assert extract(rows(*texts)).manufacturer == maker


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("7.5 kW 400 V 14.1 A 50 Hz", "power", "7.5 kW"),
        ("7.5 kW 400 V 14.1 A 50 Hz", "voltage", "400 V"),
        ("7.5 kW 400 V 14.1 A 50 Hz", "current", "14.1 A"),
        ("10 HP 1760 RPM", "power", "10 HP"),
        ("10 HP 1760 RPM", "speed", "1760 rpm"),
        ("1475 r/min", "speed", "1475 rpm"),
        ("1450 1/min", "speed", "1450 rpm"),
        ("VOLTS 208-230/460", "voltage", "208-230/460 V"),
        ("AMPS 28-26/13", "current", "28-26/13 A"),
        ("RPM 1780", "speed", "1780 rpm"),
        ("1PH/3PH AC 220± 20% 50Hz/60Hz", "frequency", "50/60 Hz"),
        ("3PH 0~220AC 2.2KW 11A 0.50 -400.00Hz", "power", "2.2 kW"),
        ("3PH 0~220AC 2.2KW 11A 0.50 -400.00Hz", "current", "11 A"),
        ("Enclosure IP55", "protection", "IP55"),
        ("5,5 CV 380 VAC", "voltage", "380 V"),
    ],
)
def test_ratings_by_unit_and_label(text: str, kind: str, value: str) -> None:
    assert value in extract(rows(text)).ratings.get(kind, [])


def test_no_false_ratings() -> None:
    ratings = extract(rows("3PH 0~220AC 2.2KW 11A", "1PH/3PH")).ratings
    assert ratings["power"] == ["2.2 kW"], "KW 11 of '2.2KW 11A' is no second power rating"
    assert "power" not in extract(rows("Ip: 50 cos φ0.7")).ratings
    assert "protection" not in extract(rows("Ip: 50")).ratings


def test_unit_headers_take_the_number_beside_them() -> None:
    lines = [
        box("rpm", 374, 717, w=68, h=39),
        box("24000", 537, 728, w=104, h=35),
        box("rpm", 732, 720, w=69, h=38),
        box("KW(HP)", 341, 764, w=128, h=47),
        box("2.2", 557, 770, w=60, h=39),
        box("A", 386, 823, w=38, h=37),
        box("6", 571, 824, w=29, h=36),
    ]
    ratings = extract(lines).ratings
    assert ratings["speed"] == ["24000 rpm"]
    assert ratings["power"] == ["2.2 kW"]
    assert ratings["current"] == ["6 A"]


@pytest.mark.parametrize(
    ("lines", "codes"),
    [
        (rows("F004"), ("F004",)),
        (rows("Err 12"), ("Err 12",)),
        (rows("E.OC3"), ()),
        (rows("OC1"), ("OC1",)),
        (rows("ALARM 1023: motor overload"), ("1023",)),
        (rows("Fault code: F7"), ("F7",)),
        (rows("RUN", "STOP", "PRGM"), ()),
        (rows("UL", "CE", "PF 0.85"), ()),  # marks and a power factor are no codes
        # 7-segment digits: a box far taller than the legend around it
        (
            [box("POWER FOR", 133, 107, h=23), box("53247", 79, 175, w=534, h=170), box("RUN", 132, 420, h=41)],
            ("53247",),
        ),
    ],
)
def test_display_codes(lines: list[OcrLine], codes: tuple[str, ...]) -> None:
    assert extract(lines).codes == codes


def test_nothing_read_is_empty() -> None:
    assert extract([]).empty
    assert extract(rows("DANGER", "Don't touch")).empty
