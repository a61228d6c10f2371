"""The work order cmmsconnect delivers, and the pure mapping from an analysis to it.

The description always ends with the reference marker ``[ref:<key>]``: no CMMS offers idempotency keys, so
after a delivery whose outcome is unknown the outbox searches the CMMS for this marker before sending again.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cmmsconnect.policy import PRIORITIES, Priority, normalize_priority

TITLE_MAX = 120
DESCRIPTION_MAX = 10_000
SUMMARY_MAX = 3_000  # Atlas's limit, the smallest of the CMMSs we talk to
QUESTION_MAX = 500
AI_NOTICE = "Produced with AI assistance from a photo; verify on site before acting on it."
IDENTIFIERS = ("manufacturer", "model", "serial_number")
UNVERIFIED = "unverified: read by AI, not confirmed on the nameplate"
_KEY_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")


@dataclass(frozen=True)
class Labels:
    """The fixed words of a work order, so it can be written in the plant's language. English by default; the
    bot passes its catalogue's translations (bot/chat/plant.py). ``{placeholders}`` are filled here."""

    question: str = "Question: {text}"
    answer: str = "Answer: {text}"
    equipment: str = "Equipment: {name}"
    doubtful: str = "{names} unverified: read by AI, not confirmed on the nameplate"
    unverified: str = UNVERIFIED
    manufacturer: str = "manufacturer"
    model: str = "model"
    and_: str = "and"
    serial: str = "Serial number: {serial}"
    serial_unread: str = "Serial number: not read from the photo"
    asset: str = "Asset: {asset} (equipment register, identified by the serial on its nameplate)"
    ratings: str = "Ratings: {ratings}"
    fault_codes: str = "Fault codes: {codes}"
    condition: str = "Condition: {condition}. Priority suggested: {priority}."
    actions: str = "Recommended actions:"
    safety: str = "Safety notes:"
    reported_by: str = "Reported by {name} (Telegram user {id})"
    in_chat: str = ", chat {chat}"
    in_message: str = " message {message}"
    ai_notice: str = AI_NOTICE
    inspection: str = "inspection"
    condition_title: str = "condition {condition}"
    follow_ups: str = "Follow-up questions:"


ENGLISH = Labels()


@dataclass(frozen=True)
class Reporter:
    """Who asked for the work order (a Telegram user, but cmmsconnect only needs an id and a name)."""

    id: int
    name: str


@dataclass(frozen=True)
class WorkOrder:
    key: str  # idempotency key chosen by the caller, e.g. f"tg-{chat_id}-{message_id}"
    title: str
    description: str
    priority: Priority
    reporter: Reporter
    created_at: datetime
    equipment_type: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial_number: str | None = None
    fault_codes: tuple[str, ...] = ()
    photo: bytes | None = field(default=None, repr=False)
    chat_id: int | None = None
    message_id: int | None = None
    asset: str | None = None  # the bot's equipment-register reference (e.g. "EQ-12"), when the unit is known

    def __post_init__(self) -> None:
        if not _KEY_RE.fullmatch(self.key):
            raise ValueError(f"work order key must match {_KEY_RE.pattern}: {self.key!r}")
        if self.priority not in PRIORITIES:
            raise ValueError(f"unknown priority {self.priority!r}")
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")

    @property
    def ref(self) -> str:
        return ref_marker(self.key)


def ref_marker(key: str) -> str:
    return f"[ref:{key}]"


# A model's or user's text must never be able to impersonate another card's reference: in the description
# every "[ref:" that did not come from ``ref_marker`` is defanged to "(ref:", and a connector recognises a
# work order only by its *last line* being exactly the marker (``carries_ref``), never by a substring.
_REF_LIKE = re.compile(r"\[\s*ref\s*:", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


def defang(text: str) -> str:
    return _REF_LIKE.sub("(ref:", text)


def carries_ref(description: str, ref: str) -> bool:
    """True when ``description`` (plain text or a CMMS's HTML rendering of it) ends with the marker ``ref``."""
    text = html.unescape(_TAG.sub("\n", description))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return bool(lines) and lines[-1] == ref


def build_title(fields: Mapping[str, Any], labels: Labels = ENGLISH) -> str:
    """'<Manufacturer Model> – <fault>', e.g. 'Allen-Bradley PowerFlex 525 – F004 overcurrent'."""
    equipment = _equipment_name(fields)
    codes = _texts(fields.get("fault_codes"))
    if codes:
        problem = ", ".join(codes[:2])
    else:
        problem = _first_sentence(_text(fields.get("summary")) or "")
        if not problem:
            condition = _text(fields.get("condition"))
            known = condition and condition != "unknown"
            problem = labels.condition_title.format(condition=condition) if known else labels.inspection
    return _truncate(f"{equipment} – {problem}", TITLE_MAX)


def build_description(
    fields: Mapping[str, Any],
    *,
    key: str,
    reporter: Reporter,
    chat_id: int | None,
    message_id: int | None,
    unverified: Collection[str] = (),
    asset: str | None = None,
    question: str | None = None,
    labels: Labels = ENGLISH,
    follow_ups: Sequence[tuple[str, str]] = (),
) -> str:
    """Human-readable body for the technician; ends with the AI notice and the [ref:key] marker.

    Identifiers named in ``unverified`` are marked so; ``asset`` is the bot's equipment-register reference;
    ``question`` is what the technician asked with the photo, shown with the analysis's ``answer`` first;
    ``labels`` are the fixed words, in the plant's language; ``follow_ups`` the (question, answer) pairs asked
    about the analysis afterwards."""
    lines: list[str] = []
    if answer := _text(fields.get("answer")):
        asked = _text(question)
        shown = [labels.question.format(text=_truncate(asked, QUESTION_MAX))] if asked else []
        lines += [*shown, labels.answer.format(text=answer), ""]
    asked_later = [(_text(q), _text(a)) for q, a in follow_ups]
    if pairs := [(q, a) for q, a in asked_later if q and a]:
        lines.append(labels.follow_ups)
        for q, a in pairs:
            lines += [
                f"- {labels.question.format(text=_truncate(q, QUESTION_MAX))}",
                f"  {labels.answer.format(text=a)}",
            ]
        lines.append("")
    if summary := _text(fields.get("summary")):
        lines += [_truncate(summary, SUMMARY_MAX), ""]  # a rambling model must not push out the equipment
    serial = _text(fields.get("serial_number"))
    equipment = _equipment_name(fields)
    kind = _text(fields.get("equipment_type"))
    doubtful = [n for n in ("manufacturer", "model") if n in unverified and _text(fields.get(n))]
    names = f" {labels.and_} ".join(getattr(labels, n) for n in doubtful)
    lines.append(
        labels.equipment.format(name=equipment)
        + (f" ({kind})" if kind and kind not in equipment else "")
        + (f" ({labels.doubtful.format(names=names)})" if doubtful else "")
    )
    if serial:
        marked = f" ({labels.unverified})" if "serial_number" in unverified else ""
        lines.append(labels.serial.format(serial=serial) + marked)
    else:
        lines.append(labels.serial_unread)
    if asset:
        lines.append(labels.asset.format(asset=asset))
    ratings = fields.get("ratings")
    if isinstance(ratings, Mapping) and ratings:
        lines.append(labels.ratings.format(ratings="; ".join(defang(f"{k} {v}") for k, v in ratings.items())))
    if codes := _texts(fields.get("fault_codes")):
        lines.append(labels.fault_codes.format(codes=", ".join(codes)))
    condition = _text(fields.get("condition")) or "unknown"
    lines.append(labels.condition.format(condition=condition, priority=normalize_priority(fields.get("priority"))))
    for heading, name in ((labels.actions, "recommended_actions"), (labels.safety, "safety_notes")):
        if items := _texts(fields.get(name)):
            lines += ["", heading, *(f"- {item}" for item in items)]
    source = labels.reported_by.format(name=defang(reporter.name), id=reporter.id)
    if chat_id is not None:
        source += labels.in_chat.format(chat=chat_id)
        source += labels.in_message.format(message=message_id) if message_id is not None else ""
    body = "\n".join(lines)
    footer = f"\n\n{source}.\n{labels.ai_notice}\n{ref_marker(key)}"
    return _truncate(body, DESCRIPTION_MAX - len(footer)) + footer


def work_order_from_analysis(
    fields: Mapping[str, Any],
    *,
    key: str,
    photo: bytes | None,
    reporter: Reporter,
    chat_id: int | None,
    message_id: int | None,
    created_at: datetime | None = None,
    unverified: Collection[str] = (),
    asset: str | None = None,
    question: str | None = None,
    labels: Labels = ENGLISH,
    follow_ups: Sequence[tuple[str, str]] = (),
) -> WorkOrder:
    """Map the analysis dict (DESIGN.md schema; unknown keys ignored, missing ones defaulted) to a WorkOrder.

    ``unverified``: identifiers (manufacturer, model, serial_number) that neither the nameplate nor a person
    confirmed. They stay in the description, marked unverified, but not in the work order's own fields, which
    the connectors use to match the CMMS's equipment: a misread serial must not attach a work order to the
    wrong asset. ``asset``: the bot's equipment-register reference, written into the description.
    ``question``: the technician's question (the caption), written with the analysis's answer. ``labels``: the
    fixed words in the plant's language (the free text is translated by the caller).
    """
    unknown = set(unverified) - set(IDENTIFIERS)
    if unknown:
        raise ValueError(f"unverified names unknown identifiers: {sorted(unknown)}")

    def trusted(name: str) -> str | None:
        return None if name in unverified else _text(fields.get(name))

    description = build_description(
        fields, key=key, reporter=reporter, chat_id=chat_id, message_id=message_id, unverified=unverified, asset=asset,
        question=question, labels=labels, follow_ups=follow_ups,
    )  # fmt: skip
    return WorkOrder(
        key=key,
        title=build_title(fields, labels),
        description=description,
        priority=normalize_priority(fields.get("priority")),
        reporter=reporter,
        created_at=created_at or datetime.now(UTC),
        equipment_type=_text(fields.get("equipment_type")),
        manufacturer=trusted("manufacturer"),
        model=trusted("model"),
        serial_number=trusted("serial_number"),
        fault_codes=tuple(_texts(fields.get("fault_codes"))),
        photo=photo,
        chat_id=chat_id,
        message_id=message_id,
        asset=asset,
    )


def _equipment_name(fields: Mapping[str, Any]) -> str:
    parts = [p for p in (_text(fields.get("manufacturer")), _text(fields.get("model"))) if p]
    if parts:
        return " ".join(parts)
    kind = _text(fields.get("equipment_type"))
    return kind if kind else "Equipment"


def _text(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = defang(" ".join(str(value).split()))
    return text if text and text.lower() not in {"null", "none", "unknown", "n/a"} else None


def _texts(value: object) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return []
    return [t for t in (_text(v) for v in value) if t]


def _first_sentence(text: str) -> str:
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0].rstrip(".")
    return _truncate(sentence, 60)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"
