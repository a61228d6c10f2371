"""Human review for critical work orders: which ones wait for an admin, and what the admin's answer does.

A work order waits (``hold``) when the answer it is filed from meets the policy: a priority in
``REVIEW_PRIORITIES`` (e.g. urgent), a term of ``REVIEW_SAFETY_TERMS`` in its safety notes or summary (a
safety-critical condition: arc flash, lockout, gas…) or a score below ``REVIEW_BELOW_SCORE``. The waiting work
order is a row here with everything needed to file it later (the answer, its provenance flags, the photo's
file id, who asked), so nothing depends on the card still being remembered. An admin's Approve or Correct
decides the row and submits it to the outbox in one transaction: a work order is filed once, and never lost
between the two. Pure parts (``reasons``, ``parse_corrections``) are table-tested.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_, Translator
from bot.quality.models import WorkOrderReview
from pipeline import Analysis

WAITING, APPROVED, CORRECTED = "waiting", "approved", "corrected"
# Fields an admin may correct, one "field: value" per line; identifiers a person corrected count as verified.
CORRECTABLE = ("priority", "condition", "equipment_type", "manufacturer", "model", "serial_number", "summary",
               "fault_codes")  # fmt: skip
IDENTIFIERS = frozenset({"manufacturer", "model", "serial_number"})


@dataclass(frozen=True)
class ReviewPolicy:
    priorities: frozenset[str] = frozenset()
    safety_terms: tuple[str, ...] = ()
    below_score: float = 0.0

    @property
    def active(self) -> bool:
        return bool(self.priorities or self.safety_terms or self.below_score > 0)


def reasons(policy: ReviewPolicy, analysis: Analysis, score: float | None) -> list[str]:
    """Why this answer's work order needs an admin first ([] = file it now), as stored codes:
    ``priority:urgent``, ``safety:arc flash``, ``score:0.42:0.60`` (worded per reader by ``reason_text``)."""
    found = []
    if analysis.priority in policy.priorities:
        found.append(f"priority:{analysis.priority}")
    text = " ".join([*analysis.safety_notes, analysis.summary]).casefold()
    term = next((t for t in policy.safety_terms if t.casefold() in text), None)
    if term is not None:
        found.append(f"safety:{term}")
    if policy.below_score > 0 and score is not None and score < policy.below_score:
        found.append(f"score:{score:.2f}:{policy.below_score:.2f}")
    return found


PRIORITY_REASON = N_("priority {priority}")
_PRIORITY = {"low": N_("low"), "medium": N_("medium"), "high": N_("high"), "urgent": N_("urgent")}
SAFETY_REASON = N_("safety: {term}")
SCORE_REASON = N_("score {score} < {limit}")


def reason_text(reason: str, tr: Translator) -> str:
    """One stored reason in the reader's words (plain text). A reason stored before codes (English) is shown as
    it is."""
    kind, _, value = reason.partition(":")
    if kind == "priority" and value:
        return tr.gettext(PRIORITY_REASON, priority=tr.gettext(_PRIORITY[value]) if value in _PRIORITY else value)
    if kind == "safety" and value:
        return tr.gettext(SAFETY_REASON, term=value)
    score, _, limit = value.partition(":")
    if kind == "score" and limit:
        return tr.gettext(SCORE_REASON, score=_decimal(score, tr), limit=_decimal(limit, tr))
    return reason


def _decimal(number: str, tr: Translator) -> str:
    return number.replace(".", ",") if tr.code in ("es", "de", "pt") else number


class CorrectionError(ValueError):
    """A correction that cannot be applied: ``message`` (English, marked with N_) and its values, to be worded in
    the admin's language with ``text``."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message.format(**values) if values else message)
        self.message, self.values = message, values

    def text(self, tr: Translator) -> str:
        return tr.gettext(self.message, **self.values)


NOT_A_FIELD = N_("'{line}' is not 'field: value' with a field of {fields}")
NO_CORRECTION = N_("no correction given")
INVALID = N_("invalid value for {field}")
INVALID_EXPECTED = N_("invalid value for {field}, expected {expected}")


def parse_corrections(text: str) -> dict[str, Any]:
    """ "priority: high" lines → field updates (validated against the analysis schema by ``corrected``)."""
    updates: dict[str, Any] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        name, sep, value = line.partition(":")
        key = name.strip().lower().replace(" ", "_")
        if not sep or key not in CORRECTABLE:
            raise CorrectionError(NOT_A_FIELD, line=line[:40], fields=", ".join(CORRECTABLE))
        value = value.strip()
        if key == "fault_codes":
            updates[key] = [code.strip() for code in value.split(",") if code.strip()]
        elif key in ("priority", "condition"):
            updates[key] = value.lower()
        else:
            updates[key] = value or None
    if not updates:
        raise CorrectionError(NO_CORRECTION)
    return updates


def corrected(analysis: Analysis, updates: Mapping[str, Any]) -> Analysis:
    """The analysis with the admin's corrections, validated as any tier's answer is."""
    try:
        return Analysis.model_validate({**analysis.model_dump(mode="json"), **updates})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "?"
        expected = (error.get("ctx") or {}).get("expected")
        if expected:
            raise CorrectionError(INVALID_EXPECTED, field=field, expected=str(expected).replace(" or ", ", ")) from None
        raise CorrectionError(INVALID, field=field) from None


@dataclass(frozen=True)
class Held:
    """A waiting (or decided) work order, as values."""

    id: int
    token: str
    chat_id: int
    card_message_id: int
    status_message_id: int | None
    reporter_id: int
    reporter_name: str
    analysis: Analysis
    flags: dict[str, Any]
    photo_file_id: str | None
    reasons: list[str]
    state: str
    corrections: dict[str, Any] | None = field(default=None)

    def with_flags_verified(self, fields: Collection[str]) -> dict[str, Any]:
        """The provenance flags once a person has corrected some identifiers: those are no longer unverified."""
        unverified = tuple(f for f in self.flags.get("unverified", ()) if f not in fields)
        return {**self.flags, "unverified": unverified}


async def hold(
    session: AsyncSession,
    *,
    token: str,
    chat_id: int,
    card_message_id: int,
    reporter_id: int,
    reporter_name: str,
    analysis: Analysis,
    flags: dict[str, Any],
    photo_file_id: str | None,
    why: list[str],
    now: datetime,
) -> Held:
    """The card's waiting work order: a new row, or the one already held for this card (a second press)."""
    existing = await session.scalar(
        select(WorkOrderReview).where(
            WorkOrderReview.chat_id == chat_id, WorkOrderReview.card_message_id == card_message_id
        )
    )
    if existing is not None:
        return _held(existing)
    row = WorkOrderReview(
        token=token,
        chat_id=chat_id,
        card_message_id=card_message_id,
        reporter_id=reporter_id,
        reporter_name=reporter_name[:200],
        analysis=analysis.model_dump(mode="json"),
        flags={"unverified": list(flags.get("unverified", ())), "asset": flags.get("asset")},
        photo_file_id=photo_file_id,
        reasons=why,
        state=WAITING,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return _held(row)


async def set_status_message(session: AsyncSession, review_id: int, message_id: int) -> None:
    await session.execute(
        update(WorkOrderReview).where(WorkOrderReview.id == review_id).values(status_message_id=message_id)
    )


async def get(session: AsyncSession, review_id: int) -> Held | None:
    row = await session.get(WorkOrderReview, review_id)
    return _held(row) if row is not None else None


async def decide(
    session: AsyncSession,
    review_id: int,
    *,
    by: int,
    state: str,
    corrections: dict[str, Any] | None,
    now: datetime,
) -> bool:
    """Approve or correct a waiting work order; False when another admin (or a second tap) decided it first."""
    result = await session.execute(
        update(WorkOrderReview)
        .where(WorkOrderReview.id == review_id, WorkOrderReview.state == WAITING)
        .values(state=state, decided_by=by, decided_at=now, corrections=corrections)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def waiting(session: AsyncSession, limit: int = 30, *, reporter_id: int | None = None) -> list[Held]:
    """Work orders still waiting, oldest first (one reporter's, when given)."""
    query = select(WorkOrderReview).where(WorkOrderReview.state == WAITING)
    if reporter_id is not None:
        query = query.where(WorkOrderReview.reporter_id == reporter_id)
    rows = await session.scalars(query.order_by(WorkOrderReview.id).limit(limit))
    return [_held(row) for row in rows.all()]


def _held(row: WorkOrderReview) -> Held:
    return Held(
        id=row.id,
        token=row.token,
        chat_id=row.chat_id,
        card_message_id=row.card_message_id,
        status_message_id=row.status_message_id,
        reporter_id=row.reporter_id,
        reporter_name=row.reporter_name,
        analysis=Analysis.model_validate(row.analysis),
        flags=dict(row.flags or {}),
        photo_file_id=row.photo_file_id,
        reasons=list(row.reasons or []),
        state=row.state,
        corrections=row.corrections,
    )
