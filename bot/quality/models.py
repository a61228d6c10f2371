"""Tables of the quality subpackage (bot-owned, in the bot's metadata so Alembic sees them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.runtime.models import Base
from pipeline.models import UTCDateTime


class ShownAnswer(Base):
    """One answer a technician saw on a card: which request, which tier and model answered, in which arm.

    Kept after the card row is purged, because feedback is only worth something with its provenance.
    """

    __tablename__ = "shown_answers"
    __table_args__ = (Index("ix_shown_answers_chat_message", "chat_id", "message_id"),)

    token: Mapped[str] = mapped_column(String(32), primary_key=True)  # the card's button token
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    request_id: Mapped[str] = mapped_column(String(36), index=True)
    analysis_id: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(8))  # "model" or "cache"
    tier: Mapped[str | None] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(120))
    arm: Mapped[str | None] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    cost_micro_usd: Mapped[int] = mapped_column(BigInteger, default=0)
    analysis: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Feedback(Base):
    """What someone said about a shown answer. One row per (answer, person, kind): a changed mind overwrites.

    ``kind`` is "vote" (the right/wrong buttons), "correction" (a reply to the card) or "recheck" (a fresh
    analysis was asked for; ``verdict`` says whether it agreed with the first answer, ``detail`` what changed).
    """

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("token", "user_id", "kind", name="uq_feedback_token_user_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(32), index=True)
    request_id: Mapped[str] = mapped_column(String(36), index=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    verdict: Mapped[str] = mapped_column(String(8))  # "right" or "wrong"
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WorkOrderReview(Base):
    """A work order held for an admin's approval (bot/quality/review.py), with everything needed to file it.

    One per card (chat id + card message id, the outbox's key): a second press finds the same row. ``state``
    goes waiting → approved | corrected exactly once (a conditional update, in the transaction that submits the
    work order to the outbox).
    """

    __tablename__ = "work_order_reviews"
    __table_args__ = (UniqueConstraint("chat_id", "card_message_id", name="uq_work_order_reviews_card"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    card_message_id: Mapped[int] = mapped_column(Integer)
    status_message_id: Mapped[int | None] = mapped_column(Integer)
    reporter_id: Mapped[int] = mapped_column(BigInteger)
    reporter_name: Mapped[str] = mapped_column(String(200))
    analysis: Mapped[dict[str, object]] = mapped_column(JSON)
    flags: Mapped[dict[str, object]] = mapped_column(JSON)
    photo_file_id: Mapped[str | None] = mapped_column(String(256))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(12), index=True)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    corrections: Mapped[dict[str, object] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
