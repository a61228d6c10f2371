"""The append-only ledger of model calls. Only the orchestrator writes it; tiers never touch the database.

Each tier attempt is one row with the usage the provider reported and its cost in micro-USD. Cache hits are
rows too (tier "cache", cost 0) so hit rates and per-user activity come from one table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from pipeline.models import ModelCall
from pipeline.types import Attempt


def record_attempts(
    session: AsyncSession, *, request_id: str, user_id: int | None, attempts: Sequence[Attempt], now: datetime
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
            )
        )
