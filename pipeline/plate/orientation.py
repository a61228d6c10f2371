"""Which way up the plate is, and its text boxes turned upright, so extraction reads a sideways photo correctly.

The OCR engine reads each text box whatever its orientation (a box taller than wide is turned a quarter, and
its direction classifier flips an upside-down crop), but it reports the boxes where they are in the photo. On
a plate photographed sideways or upside down, "the value to the right of the label" and "the line below" are
then somewhere else: a 270° photo of "Serial number / 3GBP161410 / Type / M3BP 160MLA 4" paired the serial
label with the model's value. Extraction therefore works on the boxes turned upright.

The page's angle comes from the engine's own per-box evidence (``page_angle``): a box taller than wide whose
crop the classifier kept (label "0") was turned 270° (clockwise); one it flipped ("180") 90° (anticlockwise);
a wide box it flipped is upside down. Each box votes with the length of its text and the classifier's score;
the page is turned only when most of the text agrees. Angles are anticlockwise, as ``PIL.Image.rotate``.
Pure functions: no I/O, table-tested.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.plate.types import OcrLine, Point

ANGLES = (0, 90, 180, 270)
AGREEMENT = 0.6  # share of the text's weight that must agree before the page is turned


def box_angle(line: OcrLine, label: str) -> int:
    """The angle one box says the photo was turned by, from its shape and the classifier's label."""
    tall = (line.bottom - line.top) > (line.right - line.left)
    flipped = label == "180"
    if tall:
        return 90 if flipped else 270
    return 180 if flipped else 0


def page_angle(lines: Sequence[OcrLine], labels: Sequence[tuple[str, float]]) -> int:
    """The photo's rotation (0, 90, 180 or 270, anticlockwise), 0 unless most of the text agrees."""
    if not lines or len(labels) != len(lines):
        return 0
    votes: dict[int, float] = {}
    for line, (label, score) in zip(lines, labels, strict=True):
        angle = box_angle(line, label)
        votes[angle] = votes.get(angle, 0.0) + len(line.text) * max(0.0, min(1.0, float(score)))
    total = sum(votes.values())
    if total <= 0:
        return 0
    angle, weight = max(votes.items(), key=lambda item: item[1])
    return angle if weight / total >= AGREEMENT else 0


def _turn(point: Point, angle: int) -> Point:
    """A point of a photo turned ``angle`` anticlockwise, in the upright plate's frame (y pointing down)."""
    x, y = point
    if angle == 90:
        return (-y, x)
    if angle == 180:
        return (-x, -y)
    if angle == 270:
        return (y, -x)
    return point


def upright(lines: Sequence[OcrLine], angle: int) -> list[OcrLine]:
    """The boxes as they sit on the upright plate (positions relative to each other; texts unchanged)."""
    if angle not in ANGLES:
        raise ValueError(f"angle must be one of {ANGLES}")
    if angle == 0:
        return list(lines)
    turned: list[OcrLine] = []
    for line in lines:
        a, b, c, d = (_turn(p, angle) for p in line.box)
        turned.append(OcrLine(line.text, line.score, (a, b, c, d)))
    return turned
