"""Tables the bot owns: users and their plan/quota, payments, budgets and spend reservations, sent alerts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, Index, Integer, MetaData, String, Text, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from pipeline.models import NAMING, UTCDateTime


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)  # the same constraint names as the pipeline's tables


class User(Base):
    """A Telegram user. ``free_used`` counts free analyses used *or reserved* (see bot/accounts/quota.py)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(128), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    language_code: Mapped[str | None] = mapped_column(String(16))  # Telegram's, refreshed on every update
    language: Mapped[str | None] = mapped_column(String(8))  # chosen with /language; None: follow Telegram's
    free_used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Free-plan text answers on ``questions_day`` (UTC), see bot/accounts/questions.py.
    questions_day: Mapped[date | None] = mapped_column(Date)
    questions_used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    paid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class Payment(Base):
    """A Telegram Stars payment, or an admin grant (``kind="grant"``, no charge). The unique charge id makes a
    redelivered ``successful_payment`` update a no-op instead of a second credit."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    charge_id: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "stars" or "grant"
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    currency: Mapped[str] = mapped_column(String(8), default="XTR")
    total_amount: Mapped[int] = mapped_column(Integer, default=0)  # whole Stars
    days: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(String(128), default="")
    is_recurring: Mapped[bool] = mapped_column(default=False)
    paid_until: Mapped[datetime] = mapped_column(UTCDateTime())  # the user's paid_until after this payment
    granted_by: Mapped[int | None] = mapped_column(BigInteger)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refunded_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class BudgetLimit(Base):
    """A budget setting an admin changed: "daily", "alert" or "user:<id>"; overrides the environment default."""

    __tablename__ = "budget_limits"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    micro_usd: Mapped[int | None] = mapped_column(BigInteger)  # None: no cap
    updated_by: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BudgetChange(Base):
    """Append-only log of every budget change and who made it."""

    __tablename__ = "budget_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32), index=True)
    old_micro_usd: Mapped[int | None] = mapped_column(BigInteger)
    new_micro_usd: Mapped[int | None] = mapped_column(BigInteger)
    changed_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SpendCounter(Base):
    """Cloud spend of one UTC day for one scope ("global" or "user:<id>"): settled costs plus the estimates of
    calls in flight. Reserving is one conditional UPDATE of this row (see bot/accounts/budget.py)."""

    __tablename__ = "spend_counters"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # ISO date, UTC
    micro_usd: Mapped[int] = mapped_column(BigInteger, default=0)


class SpendReservation(Base):
    """One reserved cloud call. ``settled_at`` is set once, by settle or by expiry of a crashed request."""

    __tablename__ = "spend_reservations"
    # the reservations in flight, for expire(): the plain expires_at index walked every expired row ever made
    __table_args__ = (
        Index(
            "ix_spend_reservations_unsettled",
            "expires_at",
            postgresql_where=text("settled_at IS NULL"),
            sqlite_where=text("settled_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    provider: Mapped[str] = mapped_column(String(32))
    estimate_micro_usd: Mapped[int] = mapped_column(BigInteger)
    actual_micro_usd: Mapped[int | None] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AdminAlert(Base):
    """Alerts already sent: the key names the condition and the UTC day, so each fires at most once a day."""

    __tablename__ = "admin_alerts"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Card(Base):
    """An analysis card the bot sent; its buttons carry ``token`` (see bot/chat/cards.py)."""

    __tablename__ = "cards"

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    refs: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    caption: Mapped[str | None] = mapped_column(Text)
    analysis_id: Mapped[int | None] = mapped_column(Integer)
    analysis: Mapped[dict[str, object] | None] = mapped_column(JSON)
    # Which identifiers were verified (plate or technician) and the registered unit, for its work order.
    provenance: Mapped[dict[str, object] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    owner_id: Mapped[int | None] = mapped_column(BigInteger)  # who sent the photo; None on cards before migration 0009
    language: Mapped[str | None] = mapped_column(String(8))  # the language its text is in (bot/i18n code)
    # Follow-up questions asked by replying to the card, with their answers: [{"q": …, "a": …}] (for its work order).
    follow_ups: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, default=None)


class CardMessage(Base):
    """A message that belongs to a card: the card itself, and each answer to a follow-up on it, so a reply to
    any of them finds the card's analysis (bot/chat/questions.py). Purged with the cards."""

    __tablename__ = "card_messages"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8), default="card", server_default="card")  # "card" or "answer"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class InboxUpdate(Base):
    """A Telegram update the bot accepted (see bot/updates/inbox.py): recorded before it is acted on, so a
    redelivery is recognised, and kept until done, so work a crash interrupted is found at the next start.
    ``status_*`` names the message that says "Analyzing…"; ``quota_user_id`` a free photo this update holds,
    ``question_*`` a free question (the day's allowance it was taken from)."""

    __tablename__ = "update_inbox"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    done: Mapped[bool] = mapped_column(default=False, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    status_message_id: Mapped[int | None] = mapped_column(BigInteger)
    quota_user_id: Mapped[int | None] = mapped_column(BigInteger)
    question_user_id: Mapped[int | None] = mapped_column(BigInteger)  # with question_day: a free question held
    question_day: Mapped[date | None] = mapped_column(Date)
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
