"""The free-question allowance: what a text answer costs a user on the free plan.

A question answered in words (a follow-up on a card, a text-only equipment question, a caption's question on a
photo already analysed) is a paid cloud call like a photo, so it is counted: a production bot must not give
unlimited free cloud calls. It is counted against its own, cheaper allowance rather than the free photos:

* a question is a text-only call at a fraction of a photo's price (no image tokens, a short answer): 2–4×
  cheaper by the estimate for a follow-up with its card's analysis as context against a 1024×768 photo
  (Gemini 2.5 Flash-Lite 119 vs 278 µUSD, Claude Haiku 5.5 131 vs 456, README "Free questions"), and spending
  one of three lifetime free photos on "what does F004 mean?" would teach people not to ask;
* so the free plan gets ``FREE_QUESTIONS_PER_DAY`` answers per UTC day (default 10), reset each day; paid plans
  and admins are not counted here. Every answer, for everyone, still goes through the daily budget caps (the
  spending guard), the per-user rate limit and the ledger.

Reserved before the call with one conditional UPDATE (as photos are), so concurrent questions can never take
more than is left; released when nothing was answered. ``questions_left`` is the pure rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts.quota import Plan, plan_of, user_row
from bot.runtime.models import User


def questions_left(*, day: date | None, used: int, today: date, limit: int) -> int:
    """Pure: answers left today on the free plan (a count from another day is a fresh day)."""
    return max(0, limit - (used if day == today else 0))


@dataclass(frozen=True)
class QuestionTicket:
    user_id: int
    plan: Plan
    day: date

    @property
    def counted(self) -> bool:
        return self.plan == "free"


async def reserve_question(
    session: AsyncSession, *, user_id: int, is_admin: bool, limit: int, now: datetime
) -> QuestionTicket | None:
    """Take one answer from today's allowance, or None when it is used up (never None for paid or admin)."""
    today = now.date()
    user = await user_row(session, user_id, now)  # a first contact whose gate write failed still gets its answer
    if user is None:
        return None
    plan = plan_of(is_admin=is_admin, paid_until=user.paid_until, now=now)
    if plan != "free":
        return QuestionTicket(user_id, plan, today)
    result = await session.execute(
        update(User)
        .where(
            User.id == user_id,
            or_(User.questions_day.is_(None), User.questions_day != today, User.questions_used < limit),
        )
        .values(
            questions_used=case((User.questions_day == today, User.questions_used + 1), else_=1),
            questions_day=today,
        )
        .execution_options(synchronize_session=False)
    )
    return QuestionTicket(user_id, "free", today) if result.rowcount == 1 else None  # type: ignore[attr-defined]


async def release_question(session: AsyncSession, ticket: QuestionTicket) -> None:
    """Give back an answer that was not delivered (same day only: a new day has a fresh allowance anyway)."""
    if not ticket.counted:
        return
    await session.execute(
        update(User)
        .where(User.id == ticket.user_id, User.questions_day == ticket.day, User.questions_used > 0)
        .values(questions_used=User.questions_used - 1)
        .execution_options(synchronize_session=False)
    )


async def left_today(session: AsyncSession, *, user_id: int, limit: int, now: datetime) -> int:
    row = (await session.execute(select(User.questions_day, User.questions_used).where(User.id == user_id))).first()
    if row is None:
        return limit
    return questions_left(day=row[0], used=row[1] or 0, today=now.date(), limit=limit)
