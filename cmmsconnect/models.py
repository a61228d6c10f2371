"""Tables cmmsconnect owns: the outbox (one row per work order to deliver) and the local backend's work orders.

The outbox row is the single source of truth for a delivery. Each step's result is committed on it before
the next step starts (``remote_id`` before the photo upload, ``progress["sent"]`` before the create request),
so a crashed or timed-out delivery resumes instead of filing a second work order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, LargeBinary, MetaData, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way in and out. SQLite stores no offset and hands back naive datetimes;
    normalising to UTC keeps its text comparisons (``next_attempt_at <= now``) correct too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a timezone-aware column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class OutboxStatus:
    PENDING = "pending"  # not yet created in the CMMS (or outcome unknown: see progress["sent"])
    CREATED = "created"  # remote_id known; the photo still has to go
    DELIVERED = "delivered"
    FAILED = "failed"  # the CMMS rejected it for good (400/404/422): an admin may fix and retry
    DEAD = "dead"  # still not delivered after the dead-after window: the admins were alerted

    ACTIVE = (PENDING, CREATED)


class OutboxRow(Base):
    __tablename__ = "cmms_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # the duplicate guard: one row per key
    backend: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    work_order: Mapped[dict[str, Any]] = mapped_column(JSON)  # the WorkOrder without its photo
    photo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)  # cleared once delivered
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    reporter_id: Mapped[int] = mapped_column(BigInteger, index=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    asset: Mapped[str | None] = mapped_column(String(32), index=True)  # the bot's equipment-register unit
    remote_id: Mapped[str | None] = mapped_column(String(64))
    remote_url: Mapped[str | None] = mapped_column(String(500))
    progress: Mapped[dict[str, Any]] = mapped_column(JSON)  # step cursor: sent, photo_done, connector scratch
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class LocalWorkOrder(Base):
    """The embedded CMMS of the ``local`` backend: work orders kept in our own database."""

    __tablename__ = "cmms_work_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)  # the outbox key; makes create idempotent
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    equipment_type: Mapped[str | None] = mapped_column(String(64))
    manufacturer: Mapped[str | None] = mapped_column(String(120))
    model: Mapped[str | None] = mapped_column(String(120))
    serial_number: Mapped[str | None] = mapped_column(String(120), index=True)
    reporter_id: Mapped[int] = mapped_column(BigInteger, index=True)
    reporter_name: Mapped[str] = mapped_column(String(128))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    photo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
