"""Each identifier a model claims, checked against what the plate reader read (pure; table-tested).

Measured on real plates (shared/notes/OCR-FACTS.md): an exact match of a normalised value in an OCR line never
confirmed an altered or foreign value (0 of 132), while OCR misses about a third of true values. So:

- *confirmed* — the claimed value (folded: case, spacing, punctuation, O/0, I/L/1) appears in an OCR box or in
  a row of boxes: strong evidence;
- *near* — a stretch of plate text one character away (values of six or more characters), or a labelled value
  within 20 %: one of the two readings is wrong; the card names the character and asks the technician;
- *contradicted* — the plate prints a confident labelled value for that field ("S/N …") that differs by more
  than 20 %: the model read something else (or another unit);
- *absent* — none of these: no evidence either way, and no cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.plate.brands import BRANDS
from pipeline.plate.normal import contains, edit_ratio, norm, one_edit
from pipeline.plate.types import OcrLine, PlateReading

Status = Literal["confirmed", "near", "contradicted", "absent"]
IDENTIFIERS = ("manufacturer", "model", "serial_number")
MIN_LABEL_SCORE = 0.8  # a labelled value read with less certainty cannot contradict anything
MAX_NEAR_RATIO = 0.2
MIN_NEAR_LENGTH = 6


@dataclass(frozen=True)
class FieldEvidence:
    field: str  # "manufacturer", "model", "serial_number" or "fault_code"
    claimed: str
    status: Status
    plate: str | None = None  # the plate's own reading (near, contradicted) or the box that confirmed it
    position: int | None = None  # near: 1-based position in the claimed value of the one differing character
    claimed_char: str = ""
    plate_char: str = ""

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FieldEvidence:
        return cls(**data)


@dataclass(frozen=True)
class Evidence:
    fields: tuple[FieldEvidence, ...] = ()
    read: bool = False  # the reader ran and saw some text

    def get(self, field: str) -> FieldEvidence | None:
        return next((f for f in self.fields if f.field == field), None)

    def status(self, field: str) -> Status:
        found = self.get(field)
        return found.status if found is not None else "absent"

    @property
    def contradicted(self) -> bool:
        return any(f.status == "contradicted" for f in self.fields)

    def confirmed(self, field: str) -> bool:
        return self.status(field) == "confirmed"

    def to_json(self) -> dict[str, Any]:
        return {"read": self.read, "fields": [f.to_json() for f in self.fields]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Evidence:
        return cls(tuple(FieldEvidence.from_json(f) for f in data.get("fields", [])), bool(data.get("read")))


NO_EVIDENCE = Evidence()


def check(claims: dict[str, str | None], fault_codes: Sequence[str], readings: Sequence[PlateReading]) -> Evidence:
    """Judge ``claims`` (manufacturer, model, serial_number → the model's value) against the plate readings."""
    lines = [line for reading in readings for line in reading.lines]
    if not lines:
        return NO_EVIDENCE
    haystacks = [line.text for line in lines] + rows_of(lines)
    folded = [norm(h) for h in haystacks]
    fields: list[FieldEvidence] = []
    for field in IDENTIFIERS:
        claimed = claims.get(field)
        if claimed and norm(claimed):
            fields.append(_judge(field, claimed, haystacks, folded, readings))
    for code in fault_codes:
        key = norm(code)
        if key:
            hit = next((h for h, f in zip(haystacks, folded, strict=True) if _contains(code, h, f)), None)
            fields.append(FieldEvidence("fault_code", code, "confirmed" if hit else "absent", plate=hit))
    return Evidence(tuple(fields), read=True)


def _judge(
    field: str, claimed: str, haystacks: list[str], folded: list[str], readings: Sequence[PlateReading]
) -> FieldEvidence:
    key = norm(claimed)
    if field == "manufacturer":
        brand = brand_of(claimed)
        plate_brand = next((r.fields.manufacturer for r in readings if r.fields.manufacturer), None)
        if brand is not None and plate_brand == brand:
            return FieldEvidence(field, claimed, "confirmed", plate=plate_brand)
    for haystack, text in zip(haystacks, folded, strict=True):
        if _contains(claimed, haystack, text):
            return FieldEvidence(field, claimed, "confirmed", plate=haystack)
    labelled = next((r.fields.labelled[field] for r in readings if field in r.fields.labelled), None)
    if len(key) >= MIN_NEAR_LENGTH:
        for haystack in haystacks:
            edit = one_edit(claimed, haystack)
            if edit is not None:
                return FieldEvidence(field, claimed, "near", edit.plate_text, edit.position, edit.claimed, edit.plate)
    if labelled is not None and labelled.score >= MIN_LABEL_SCORE:
        ratio = edit_ratio(key, norm(labelled.value))
        status: Status = "contradicted" if ratio > MAX_NEAR_RATIO else "near"
        return FieldEvidence(field, claimed, status, plate=labelled.value)
    return FieldEvidence(field, claimed, "absent")


def _contains(claimed: str, haystack: str, folded: str) -> bool:
    # Short values match only a whole box or row: "A1" inside any serial would confirm nothing.
    return norm(claimed) == folded if len(norm(claimed)) < 4 else contains(claimed, haystack)


def rows_of(lines: Sequence[OcrLine]) -> list[str]:
    """Boxes on one row joined left to right: a value split by the detector ("S/N" | "1234" | "5678")."""
    rows: list[str] = []
    for line in lines:
        row = sorted(
            (o for o in lines if min(o.bottom, line.bottom) - max(o.top, line.top) >= 0.5 * min(o.height, line.height)),
            key=lambda o: o.left,
        )
        if len(row) > 1:
            rows.append(" ".join(o.text for o in row))
    return list(dict.fromkeys(rows))


def brand_of(name: str) -> str | None:
    """The canonical brand a maker's name refers to ("Siemens AG", "ABB Motors" → "Siemens", "ABB")."""
    words = name.split()
    for brand, aliases in BRANDS.items():
        for alias in (brand, *aliases):
            size = len(alias.split())
            if norm(" ".join(words[:size])) == norm(alias):
                return brand
    return None
