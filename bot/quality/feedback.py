"""Feedback per shown answer: remembered when the card is sent, then votes, corrections and re-checks.

A re-check is a technician saying "I doubt this"; whether the fresh analysis agrees with the first one is
the strongest label we get for free. ``pipeline.agreement.disagreement`` decides it on the fields a work order
is filed on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.quality.models import Feedback, ShownAnswer
from pipeline import Analysis, Result
from pipeline.models import upsert_insert

Kind = Literal["vote", "correction", "recheck"]
Verdict = Literal["right", "wrong"]
MAX_DETAIL = 1000


@dataclass(frozen=True)
class Shown:
    token: str
    chat_id: int
    message_id: int
    user_id: int
    request_id: str
    tier: str | None
    model: str | None
    source: str
    analysis: Analysis


async def remember_answer(
    session: AsyncSession,
    *,
    token: str,
    chat_id: int,
    message_id: int,
    user_id: int,
    result: Result,
    arm: str | None,
    now: datetime,
) -> None:
    receipt = result.receipt
    # The model CASCADE asked for (as the ledger groups it), not the provider's dated variant of its name.
    asked = next((a.model for a in receipt.attempts if a.tier == receipt.tier and a.analysis is not None), None)
    session.add(
        ShownAnswer(
            token=token,
            chat_id=chat_id,
            message_id=message_id,
            user_id=user_id,
            request_id=receipt.request_id,
            analysis_id=result.analysis_id,
            source=receipt.source,
            tier=receipt.tier,
            model=asked or receipt.model,
            arm=arm,
            score=receipt.confidence,
            cost_micro_usd=receipt.cost_micro_usd,
            analysis=result.analysis.model_dump(mode="json"),
            created_at=now,
        )
    )


async def set_message(session: AsyncSession, token: str, message_id: int) -> None:
    await session.execute(update(ShownAnswer).where(ShownAnswer.token == token).values(message_id=message_id))


async def shown_by_token(session: AsyncSession, token: str) -> Shown | None:
    row = await session.get(ShownAnswer, token)
    return _shown(row) if row is not None else None


async def shown_by_message(session: AsyncSession, chat_id: int, message_id: int) -> Shown | None:
    row = await session.scalar(
        select(ShownAnswer).where(ShownAnswer.chat_id == chat_id, ShownAnswer.message_id == message_id).limit(1)
    )
    return _shown(row) if row is not None else None


async def record(
    session: AsyncSession,
    shown: Shown,
    *,
    user_id: int,
    kind: Kind,
    verdict: Verdict,
    detail: str | None,
    now: datetime,
) -> None:
    """Insert, or overwrite this person's earlier feedback of the same kind on the same answer."""
    insert = upsert_insert(session)
    text = detail[:MAX_DETAIL] if detail is not None else None
    statement = insert(Feedback).values(
        token=shown.token,
        request_id=shown.request_id,
        user_id=user_id,
        kind=kind,
        verdict=verdict,
        detail=text,
        created_at=now,
        updated_at=now,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["token", "user_id", "kind"],
        set_={"verdict": verdict, "detail": text, "updated_at": now},
    )
    await session.execute(statement)


async def feedback_for(session: AsyncSession, token: str) -> list[Feedback]:
    rows = await session.scalars(select(Feedback).where(Feedback.token == token).order_by(Feedback.id))
    return list(rows.all())


def _shown(row: ShownAnswer) -> Shown:
    return Shown(
        token=row.token,
        chat_id=row.chat_id,
        message_id=row.message_id,
        user_id=row.user_id,
        request_id=row.request_id,
        tier=row.tier,
        model=row.model,
        source=row.source,
        analysis=Analysis.model_validate(row.analysis),
    )
