"""Tables the pipeline owns: photos it has seen, analyses (the cache), and the append-only ledger of model calls."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite has no time zone type: it hands back naive datetimes, which then fail to compare with aware ones
    and are taken as local time by ``.timestamp()``. Values are converted to UTC on the way in and marked UTC
    on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def upsert_insert(session: AsyncSession) -> Callable[..., Any]:
    """The dialect's ``insert`` with ``on_conflict_do_*`` (SQLite and PostgreSQL spell it alike), so an
    insert-or-ignore / insert-or-update is one race-free statement on either backend."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Photo(Base):
    """A photo by content address; ``phash`` is the signed 64-bit pHash, indexed for the near-duplicate index."""

    __tablename__ = "photos"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    phash: Mapped[int] = mapped_column(BigInteger, index=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    byte_size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    # What the plate reader read on it: {"lines": [{text, score, box}], "fields": {…}} (None: not read).
    plate_text: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class StoredAnalysis(Base):
    """An accepted analysis of one photo set; the cache answers from the newest valid row per photo."""

    __tablename__ = "analyses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(36), index=True)
    photo_sha256: Mapped[str] = mapped_column(ForeignKey("photos.sha256"), index=True)  # first photo of the set
    photo_set: Mapped[list[str]] = mapped_column(JSON)  # all sha256 of the request, in order
    prompt_version: Mapped[str] = mapped_column(String(16))
    caption: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))  # the language it was written in; None: English
    analysis: Mapped[dict[str, object]] = mapped_column(JSON)
    tier: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(80))
    confidence: Mapped[float] = mapped_column(Float)
    low_confidence: Mapped[bool] = mapped_column(default=False)
    superseded: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ModelCall(Base):
    """One tier attempt, success or failure; never updated. Spend is summed from here.

    A valid answer keeps its parsed analysis, its score and the score's reasons (and the plate reader's verdict
    per field when it ran) whether it was accepted or escalated: that is what accuracy by tier and the
    evaluation replay are computed from. ``purpose`` is "serve" for the user's request and "eval" for the
    background evaluation sample; ``arm`` is the cascade that served it ("main" or "canary").
    """

    __tablename__ = "model_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(36), index=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    tier: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(32), index=True)
    model_requested: Mapped[str] = mapped_column(String(80))
    model_reported: Mapped[str | None] = mapped_column(String(120))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_micro_usd: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    score: Mapped[float | None] = mapped_column(Float)
    score_reasons: Mapped[list[str] | None] = mapped_column(JSON)
    analysis: Mapped[dict[str, object] | None] = mapped_column(JSON)
    evidence: Mapped[dict[str, str] | None] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(8), default="serve", server_default="serve")
    arm: Mapped[str | None] = mapped_column(String(16))


class Equipment(Base):
    """The equipment register: a unit is known by its maker and the serial a model read and the plate confirmed.

    ``manufacturer`` is the canonical brand ("" when neither the model nor the plate named one); ``serial_norm``
    is the folded serial (``pipeline.plate.normal.norm``) that new photos' OCR text is searched for.
    """

    __tablename__ = "equipment"
    __table_args__ = (UniqueConstraint("manufacturer", "serial_norm", name="uq_equipment_manufacturer_serial"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manufacturer: Mapped[str] = mapped_column(String(120))
    serial_norm: Mapped[str] = mapped_column(String(120), index=True)
    serial: Mapped[str] = mapped_column(String(120))
    model: Mapped[str | None] = mapped_column(String(120))
    equipment_type: Mapped[str | None] = mapped_column(String(80))
    analysis_id: Mapped[int | None] = mapped_column(Integer)  # its latest accepted analysis (no FK: may be purged)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
