"""The free answer: what the plate says, when no model could be asked or none answered (pure).

It claims nothing the reader did not read: no condition, no advice beyond checking the plate, and identifiers
shown as read by OCR (the card and the work order call them unverified).
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.plate.types import PlateReading
from pipeline.types import Analysis

SUMMARY = (
    "No analysis service could answer just now, so this is only what is printed on the plate, read on this "
    "server without a model. Compare it with the plate before relying on it."
)


def plate_answer(readings: Sequence[PlateReading]) -> Analysis | None:
    """An ``Analysis`` made only of what the readings found, or None when they found nothing useful."""
    fields = [r.fields for r in readings]
    if all(f.empty for f in fields):
        return None

    def first(name: str) -> str | None:
        return next((v for f in fields if (v := getattr(f, name))), None)

    ratings: dict[str, str] = {}
    for f in fields:
        for kind, values in f.ratings.items():
            ratings.setdefault(kind, ", ".join(values))
    codes = list(dict.fromkeys(code for f in fields for code in f.codes))
    return Analysis(
        equipment_type="nameplate" if (first("model") or first("serial")) else "display",
        manufacturer=first("manufacturer"),
        model=first("model") or first("catalogue"),
        serial_number=first("serial"),
        ratings=ratings,
        fault_codes=codes,
        condition="unknown",
        summary=SUMMARY,
        recommended_actions=[
            "Check the readings against the plate.",
            "Send the photo again later for a full analysis.",
        ],
        priority="medium",
        confidence=0.0,
    )
