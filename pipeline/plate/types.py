"""What the plate reader hands on: OCR lines with their boxes, and the fields extracted from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Point = tuple[float, float]


@dataclass(frozen=True)
class OcrLine:
    """One text box as the OCR engine read it: text, recognition score 0..1, and its four corners."""

    text: str
    score: float
    box: tuple[Point, Point, Point, Point]

    @property
    def left(self) -> float:
        return min(p[0] for p in self.box)

    @property
    def right(self) -> float:
        return max(p[0] for p in self.box)

    @property
    def top(self) -> float:
        return min(p[1] for p in self.box)

    @property
    def bottom(self) -> float:
        return max(p[1] for p in self.box)

    @property
    def height(self) -> float:
        return max(1.0, self.bottom - self.top)

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "score": round(self.score, 4), "box": [[round(x), round(y)] for x, y in self.box]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OcrLine:
        corners = tuple((float(x), float(y)) for x, y in data["box"])
        assert len(corners) == 4
        return cls(str(data["text"]), float(data["score"]), corners)


@dataclass(frozen=True)
class Labelled:
    """A value the plate printed next to a label ("S/N 12345"): strong enough to contradict a model."""

    value: str
    label: str
    score: float


@dataclass(frozen=True)
class PlateFields:
    """What extraction found. ``labelled`` holds identifiers that sat next to their label on the plate."""

    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    catalogue: str | None = None
    asset_tag: str | None = None
    ratings: dict[str, list[str]] = field(default_factory=dict)  # "power" → ["2.2 kW"], "voltage" → ["220 V"]
    codes: tuple[str, ...] = ()
    labelled: dict[str, Labelled] = field(default_factory=dict)  # "serial_number" / "model" / "manufacturer"

    @property
    def empty(self) -> bool:
        return not (self.manufacturer or self.model or self.serial or self.catalogue or self.ratings or self.codes)

    def to_json(self) -> dict[str, Any]:
        return {
            "manufacturer": self.manufacturer,
            "model": self.model,
            "serial": self.serial,
            "catalogue": self.catalogue,
            "asset_tag": self.asset_tag,
            "ratings": self.ratings,
            "codes": list(self.codes),
            "labelled": {k: {"value": v.value, "label": v.label, "score": v.score} for k, v in self.labelled.items()},
        }


@dataclass(frozen=True)
class PlateReading:
    """One photo's OCR lines and fields; ``duration_ms`` is the reader's own time (for the ledger and bench)."""

    lines: tuple[OcrLine, ...]
    fields: PlateFields
    duration_ms: int = 0
    angle: int = 0  # how far the photo was turned (anticlockwise); fields were read from the upright boxes

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "lines": [line.to_json() for line in self.lines],
            "fields": self.fields.to_json(),
            "duration_ms": self.duration_ms,
            "angle": self.angle,
        }
