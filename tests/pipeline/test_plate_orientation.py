"""Which way up a plate is, from the OCR boxes' shapes and the direction classifier's labels (pure)."""

from __future__ import annotations

import pytest

from pipeline.plate.extract import extract
from pipeline.plate.orientation import box_angle, page_angle, upright
from pipeline.plate.types import OcrLine

WIDE = ((0.0, 0.0), (100.0, 0.0), (100.0, 20.0), (0.0, 20.0))
TALL = ((0.0, 0.0), (20.0, 0.0), (20.0, 100.0), (0.0, 100.0))


def line(text: str, box: tuple[tuple[float, float], ...] = WIDE) -> OcrLine:
    return OcrLine(text, 0.99, box)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("box", "label", "angle"),
    [(WIDE, "0", 0), (WIDE, "180", 180), (TALL, "0", 270), (TALL, "180", 90)],
)
def test_box_angle(box: tuple[tuple[float, float], ...], label: str, angle: int) -> None:
    assert box_angle(line("3GBP161410", box), label) == angle


@pytest.mark.parametrize(
    ("boxes", "angle"),
    [
        ([], 0),
        ([(TALL, "0", 1.0)] * 5, 270),
        ([(TALL, "180", 1.0)] * 5, 90),
        ([(WIDE, "180", 1.0)] * 5, 180),
        ([(WIDE, "180", 1.0)] * 2 + [(WIDE, "0", 1.0)] * 3, 0),  # no clear majority: left as it is
        ([(WIDE, "180", 0.0)] * 4 + [(WIDE, "0", 1.0)], 0),  # unsure labels carry no weight
        ([(TALL, "0", 1.0)] * 4 + [(WIDE, "0", 1.0)], 270),  # a stray wide box does not outvote the page
    ],
)
def test_page_angle(boxes: list[tuple[tuple[tuple[float, float], ...], str, float]], angle: int) -> None:
    lines = [line("ABCDEFGH", box) for box, _, _ in boxes]
    assert page_angle(lines, [(label, score) for _, label, score in boxes]) == angle


def test_labels_that_do_not_match_the_lines_are_ignored() -> None:
    assert page_angle([line("ABC", TALL)], []) == 0


def _turned(angle: int) -> list[OcrLine]:
    """ "Serial number" above "3GBP161410" on an upright plate, as a photo turned ``angle`` anticlockwise
    would show them (each box's position rotated about the origin)."""
    upright_boxes = {
        "Serial number": ((0.0, 0.0), (200.0, 0.0), (200.0, 30.0), (0.0, 30.0)),
        "3GBP161410": ((0.0, 50.0), (200.0, 50.0), (200.0, 80.0), (0.0, 80.0)),
        "Type": ((0.0, 100.0), (80.0, 100.0), (80.0, 130.0), (0.0, 130.0)),
        "M3BP 160MLA 4": ((0.0, 150.0), (220.0, 150.0), (220.0, 180.0), (0.0, 180.0)),
    }
    forward = {0: lambda x, y: (x, y), 90: lambda x, y: (y, -x), 180: lambda x, y: (-x, -y), 270: lambda x, y: (-y, x)}
    return [
        OcrLine(text, 0.99, tuple(forward[angle](x, y) for x, y in box))  # type: ignore[arg-type]
        for text, box in upright_boxes.items()
    ]


@pytest.mark.parametrize("angle", [0, 90, 180, 270])
def test_upright_boxes_pair_labels_with_their_values(angle: int) -> None:
    fields = extract(upright(_turned(angle), angle))
    assert (fields.serial, fields.model) == ("3GBP161410", "M3BP 160MLA 4")


def test_turned_boxes_read_in_the_photo_frame_pair_wrongly() -> None:
    """Why upright() exists: the same boxes, not turned, give the serial the wrong value or none."""
    fields = extract(_turned(270))
    assert (fields.serial, fields.model) != ("3GBP161410", "M3BP 160MLA 4")


def test_an_angle_that_is_not_a_quarter_turn_is_refused() -> None:
    with pytest.raises(ValueError):
        upright([line("X")], 45)
