"""The question every tier is asked, the JSON schema it must answer in, and the one parser for its reply.

Every provider's reply goes through ``parse_analysis`` so all tiers are judged by the same rules: a reply
wrapped in a markdown fence or preceded by a sentence is accepted; anything that is not a JSON object matching
``Analysis`` is ``BadAnalysis`` (the orchestrator turns it into a ``TierBadOutput`` attempt).
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from pipeline.types import Analysis

# Bump when the prompt or schema changes meaningfully: cached analyses from an older prompt are not reused.
PROMPT_VERSION = "v1"

_NULLABLE_STR: dict[str, Any] = {"type": ["string", "null"]}
_STR_LIST: dict[str, Any] = {"type": "array", "items": {"type": "string"}}

ANALYSIS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "equipment_type": {"type": "string", "description": 'e.g. "VFD", "PLC", "motor", "panel"'},
        "manufacturer": _NULLABLE_STR,
        "model": _NULLABLE_STR,
        "serial_number": _NULLABLE_STR,
        "ratings": {"type": "object", "additionalProperties": {"type": "string"}},
        "fault_codes": _STR_LIST,
        "condition": {"type": "string", "enum": ["normal", "warning", "fault", "unknown"]},
        "summary": {"type": "string"},
        "recommended_actions": _STR_LIST,
        "safety_notes": _STR_LIST,
        "priority": {"type": "string", "enum": ["low", "medium", "high", "urgent"]},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["equipment_type", "condition", "summary", "priority", "confidence"],
}

_PROMPT = """You are an industrial maintenance assistant. A technician photographed a machine (a motor nameplate,
a PLC, a variable-frequency drive showing a fault code, or a control panel).
Read what is actually visible and answer with ONE JSON object, no prose, with these keys:
equipment_type (short noun like "VFD", "PLC", "motor", "panel"), manufacturer, model, serial_number
(null when not readable; never guess a serial number), ratings (object of name to value with unit, e.g.
{"voltage": "480 V", "power": "7.5 kW"}), fault_codes (list of codes shown, e.g. ["F004"]), condition
("normal", "warning", "fault" or "unknown"), summary (one or two plain sentences for the technician),
recommended_actions (short imperative steps), safety_notes (lockout/tagout, arc flash, stored energy where
relevant), priority ("low", "medium", "high" or "urgent"), confidence (0 to 1: how sure you are of what you
read; low when the photo is blurred, dark or the text is not legible).
If a fault code is shown, explain its usual meaning for that manufacturer and model."""


def build_prompt(caption: str | None, photo_count: int) -> str:
    """The prompt for one request; the technician's caption is quoted as context, not as instructions."""
    parts = [_PROMPT]
    if photo_count > 1:
        parts.append(f"The {photo_count} photos show the same equipment from different angles.")
    if caption and caption.strip():
        parts.append(f'The technician wrote: "{caption.strip()[:500]}"')
    return "\n\n".join(parts)


class BadAnalysis(ValueError):
    """The reply is not a valid analysis; the message says why (kept short for logs and the ledger)."""


_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def parse_analysis(text: str) -> Analysis:
    payload = _extract_object(text)
    try:
        return Analysis.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "reply"
        raise BadAnalysis(f"schema-invalid: {where}: {first['msg']}") from exc


def _extract_object(text: str) -> dict[str, Any]:
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for candidate in candidates:
        candidate = candidate.strip()
        start, end = candidate.find("{"), candidate.rfind("}")
        if start == -1 or end <= start:
            continue
        try:
            value = json.loads(candidate[start : end + 1])
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    if not text.strip():
        raise BadAnalysis("empty reply")
    raise BadAnalysis("unparsable: no JSON object in the reply")
