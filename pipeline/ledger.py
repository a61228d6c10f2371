"""The append-only ledger of model calls. Only the orchestrator writes it; tiers never touch the database.

Each tier attempt is one row with the usage the provider reported and its cost in micro-USD. Cache hits are
rows too (tier "cache", cost 0) so hit rates and per-user activity come from one table. Every valid answer is
kept with its parsed analysis, score and reasons, accepted or not: an escalated answer is the evidence of what
the cheaper tier would have said, which is what accuracy by tier and the evaluation replay are built on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pipeline.models import ModelCall
from pipeline.types import Analysis, Attempt, Usage

Purpose = Literal["serve", "eval"]


def record_attempts(
    session: AsyncSession,
    *,
    request_id: str,
    user_id: int | None,
    attempts: Sequence[Attempt],
    now: datetime,
    purpose: Purpose = "serve",
    arm: str | None = None,
) -> None:
    for attempt in attempts:
        session.add(
            ModelCall(
                request_id=request_id,
                user_id=user_id,
                tier=attempt.tier,
                provider=attempt.provider,
                model_requested=attempt.model,
                model_reported=attempt.model_reported,
                input_tokens=attempt.usage.input_tokens,
                output_tokens=attempt.usage.output_tokens,
                cost_micro_usd=attempt.cost_micro_usd,
                latency_ms=attempt.latency_ms,
                outcome=attempt.outcome,
                confidence=attempt.confidence,
                error=attempt.error,
                created_at=now,
                score=attempt.score,
                score_reasons=list(attempt.reasons) if attempt.analysis is not None else None,
                analysis=attempt.analysis.model_dump(mode="json") if attempt.analysis is not None else None,
                evidence=dict(attempt.evidence) if attempt.evidence is not None else None,
                purpose=purpose,
                arm=arm,
            )
        )


@dataclass(frozen=True)
class Recorded:
    """One ledger row read back as values (for reports and the evaluation replay)."""

    request_id: str
    tier: str
    model: str
    outcome: str
    purpose: str
    arm: str | None
    cost_micro_usd: int
    latency_ms: int
    usage: Usage
    score: float | None
    analysis: Analysis | None
    evidence: dict[str, str] | None
    user_id: int | None
    created_at: datetime


async def read_calls(
    session: AsyncSession,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    purpose: Purpose | None = None,
    request_ids: Sequence[str] | None = None,
) -> list[Recorded]:
    """Ledger rows oldest first, optionally within [since, until), of one purpose or for some requests."""
    query = select(ModelCall).order_by(ModelCall.created_at, ModelCall.id)
    if since is not None:
        query = query.where(ModelCall.created_at >= since)
    if until is not None:
        query = query.where(ModelCall.created_at < until)
    if purpose is not None:
        query = query.where(ModelCall.purpose == purpose)
    if request_ids is not None:
        query = query.where(ModelCall.request_id.in_(list(request_ids)))
    return [_recorded(row) for row in (await session.scalars(query)).all()]


def _recorded(row: ModelCall) -> Recorded:
    analysis: Analysis | None = None
    if row.analysis is not None:
        try:
            analysis = Analysis.model_validate(row.analysis)
        except ValueError:  # a row written under an older schema: counted, not compared
            analysis = None
    return Recorded(
        request_id=row.request_id,
        tier=row.tier,
        model=row.model_requested,  # what CASCADE asked for: a model change shows as a new row
        outcome=row.outcome,
        purpose=row.purpose,
        arm=row.arm,
        cost_micro_usd=row.cost_micro_usd,
        latency_ms=row.latency_ms,
        usage=Usage(row.input_tokens, row.output_tokens),
        score=row.score,
        analysis=analysis,
        evidence=row.evidence,
        user_id=row.user_id,
        created_at=row.created_at,
    )
