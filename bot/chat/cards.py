"""The analysis cards the bot has sent, so their buttons keep working after a restart or a deploy.

A card's buttons carry only a short random token (Telegram allows 64 bytes of callback data); the row behind it
holds what the buttons need: the photos' Telegram file ids (to re-check or attach them), the caption, and the
analysis to file as a work order. Rows older than ``KEEP`` are purged; an old card then asks for the photo again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime.models import Card, CardMessage
from bot.runtime.queues import PhotoRef
from pipeline import Analysis
from pipeline.models import upsert_insert

KEEP = timedelta(days=30)


@dataclass(frozen=True)
class CardTicket:
    chat_id: int
    refs: list[PhotoRef]
    caption: str | None
    analysis_id: int | None
    analysis: Analysis | None = None
    # What its work order may trust (bot/chat/evidence.py ``provenance``): verified identifiers, the register's unit.
    provenance: dict[str, Any] | None = None
    owner_id: int | None = None  # the user who sent the photo: only they (and admins) may press its buttons
    language: str | None = None  # the language the analysis was written in (a bot/i18n code; None: English)
    follow_ups: tuple[tuple[str, str], ...] = ()  # (question, answer) asked by replying to the card

    def may_press(self, user_id: int, *, is_admin: bool) -> bool:
        """In a group everyone sees the card; only its owner may file, dismiss or re-check (spending quota).
        A card from before owners were recorded belongs to its private chat (chat id == user id)."""
        owner = self.owner_id if self.owner_id is not None else self.chat_id
        return is_admin or user_id == owner


async def remember(sessions: async_sessionmaker[AsyncSession], token: str, ticket: CardTicket, now: datetime) -> None:
    async with sessions.begin() as session:
        session.add(
            Card(
                token=token,
                chat_id=ticket.chat_id,
                refs=[
                    {"file_id": r.file_id, "file_size": r.file_size, "message_id": r.message_id} for r in ticket.refs
                ],
                caption=ticket.caption,
                analysis_id=ticket.analysis_id,
                analysis=ticket.analysis.model_dump(mode="json") if ticket.analysis is not None else None,
                provenance=ticket.provenance,
                created_at=now,
                owner_id=ticket.owner_id,
                language=ticket.language,
            )
        )


async def get(sessions: async_sessionmaker[AsyncSession], token: str) -> CardTicket | None:
    async with sessions() as session:
        row = await session.get(Card, token)
        return _ticket(row) if row is not None else None


async def take(sessions: async_sessionmaker[AsyncSession], token: str) -> CardTicket | None:
    """Get and forget in one transaction: a re-check consumes its card, so a double tap re-checks once."""
    async with sessions.begin() as session:  # DELETE … RETURNING: of two concurrent takes, one gets the row
        row = await session.scalar(delete(Card).where(Card.token == token).returning(Card))
        return _ticket(row) if row is not None else None


async def settle(
    sessions: async_sessionmaker[AsyncSession], token: str, field: str, value: str, by_user: int
) -> CardTicket | None:
    """The technician read ``field`` on the plate as ``value``: the card's analysis carries it and its work order
    files it as verified (by that user). None when the card is gone or the field was not in dispute."""
    async with sessions.begin() as session:
        row = await session.get(Card, token, with_for_update=True)
        if row is None or row.analysis is None or row.provenance is None:
            return None
        provenance: dict[str, Any] = dict(row.provenance)
        before: list[dict[str, Any]] = list(provenance.get("disputed", []))
        disputed = [d for d in before if d.get("field") != field]
        if len(disputed) == len(before):
            return None
        verified: dict[str, str] = dict(provenance.get("verified", {}))
        unverified: list[str] = list(provenance.get("unverified", []))
        provenance["disputed"] = disputed
        provenance["verified"] = {**verified, field: f"technician:{by_user}"}
        provenance["unverified"] = [f for f in unverified if f != field]
        row.provenance = provenance
        row.analysis = {**row.analysis, field: value}
        return _ticket(row)


async def purge(sessions: async_sessionmaker[AsyncSession], now: datetime) -> int:
    async with sessions.begin() as session:
        await session.execute(delete(CardMessage).where(CardMessage.created_at < now - KEEP))
        result = await session.execute(delete(Card).where(Card.created_at < now - KEEP))
        return int(getattr(result, "rowcount", 0) or 0)


async def placed(
    sessions: async_sessionmaker[AsyncSession],
    token: str,
    chat_id: int,
    message_id: int,
    now: datetime,
    kind: str = "card",
) -> None:
    """``message_id`` in ``chat_id`` belongs to the card ``token``: the card itself, or an ``"answer"`` about it."""
    async with sessions.begin() as session:
        await place(session, token, chat_id, message_id, now, kind)


async def place(
    session: AsyncSession, token: str, chat_id: int, message_id: int, now: datetime, kind: str = "card"
) -> None:
    """``placed`` inside the caller's transaction."""
    insert = upsert_insert(session)
    await session.execute(
        insert(CardMessage)
        .values(chat_id=chat_id, message_id=message_id, token=token, kind=kind, created_at=now)
        .on_conflict_do_nothing(index_elements=["chat_id", "message_id"])
    )


MAX_FOLLOW_UPS = 10  # kept for the work order; older ones are dropped first


async def add_follow_up(sessions: async_sessionmaker[AsyncSession], token: str, question: str, answer: str) -> None:
    """Keep a follow-up and its answer with the card (the last ``MAX_FOLLOW_UPS``), for its work order."""
    async with sessions.begin() as session:
        row = await session.get(Card, token, with_for_update=True)
        if row is not None:
            row.follow_ups = [*(row.follow_ups or []), {"q": question, "a": answer}][-MAX_FOLLOW_UPS:]


@dataclass(frozen=True)
class Placed:
    token: str
    kind: str  # "card" or "answer"


async def message_at(sessions: async_sessionmaker[AsyncSession], chat_id: int, message_id: int) -> Placed | None:
    """The card a message belongs to and what the message is, or None (not a card's, or older than ``KEEP``)."""
    async with sessions() as session:
        row = await session.get(CardMessage, (chat_id, message_id))
        return Placed(row.token, row.kind) if row is not None else None


def _ticket(row: Card) -> CardTicket:
    refs: list[dict[str, Any]] = row.refs
    return CardTicket(
        chat_id=row.chat_id,
        refs=[PhotoRef(r["file_id"], r.get("file_size"), r["message_id"]) for r in refs],
        caption=row.caption,
        analysis_id=row.analysis_id,
        analysis=Analysis.model_validate(row.analysis) if row.analysis is not None else None,
        provenance=row.provenance,
        owner_id=row.owner_id,
        language=row.language,
        follow_ups=tuple((str(f.get("q", "")), str(f.get("a", ""))) for f in row.follow_ups or ()),
    )
