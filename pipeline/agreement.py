"""When two answers about the same photos agree: on the fields a work order is filed on (identity, fault codes,
condition), normalised so a model writing "PowerFlex-525" and another "powerflex 525" agree. Wording
differences in the summary are not disagreement. Used for re-checks (bot/quality) and the evaluation replay.
"""

from __future__ import annotations

import re

from pipeline.types import Analysis

# The fields a re-check must agree on, in the order they are reported.
COMPARED = ("equipment_type", "manufacturer", "model", "serial_number", "fault_codes", "condition")


def _norm(value: str | None) -> str:
    return re.sub(r"[^0-9A-Z]", "", (value or "").upper())


def disagreement(first: Analysis, second: Analysis) -> list[str]:
    """The compared fields on which two analyses of the same photos differ (empty: they agree).

    A field one answer left empty and the other filled is a difference only for identity fields the first
    answer claimed: the first answer is what is being judged, and a claim the second cannot confirm is doubt.
    """
    changed: list[str] = []
    for name in COMPARED:
        a, b = getattr(first, name), getattr(second, name)
        if name == "fault_codes":
            if {_norm(x) for x in a} != {_norm(x) for x in b}:
                changed.append(name)
        elif name == "condition":
            if a != b and "unknown" not in (a, b):
                changed.append(name)
        elif name == "equipment_type":
            if _norm(a) != _norm(b):
                changed.append(name)
        elif a and _norm(a) != _norm(b):
            changed.append(name)
    return changed
