"""The card rows behind the buttons: settling a disputed identifier (bot/chat/cards.py), on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat import cards
from bot.chat.cards import CardTicket
from pipeline import Analysis

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DISPUTED = {
    "verified": {"model": "plate"},
    "unverified": ["manufacturer", "serial_number"],
    "asset": None,
    "unit": None,
    "disputed": [{"field": "serial_number", "analysis": "UD 1402/1234567-007", "plate": "UD 1402/1234567-001"}],
}


async def remember(sessions: async_sessionmaker[AsyncSession]) -> None:
    analysis = Analysis(equipment_type="motor", serial_number="UD 1402/1234567-007", confidence=0.9)
    ticket = CardTicket(42, [], None, 7, analysis, DISPUTED, owner_id=42)
    await cards.remember(sessions, "tok", ticket, NOW)


async def test_settling_a_disputed_serial_verifies_it_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    await remember(sessions)
    settled = await cards.settle(sessions, "tok", "serial_number", "UD 1402/1234567-001", 42)
    assert settled is not None and settled.analysis is not None
    assert settled.analysis.serial_number == "UD 1402/1234567-001"
    assert settled.provenance is not None
    assert settled.provenance["verified"] == {"model": "plate", "serial_number": "technician:42"}
    assert settled.provenance["unverified"] == ["manufacturer"] and settled.provenance["disputed"] == []
    stored = await cards.get(sessions, "tok")
    assert stored is not None and stored.provenance == settled.provenance, "it was written, not only returned"
    assert await cards.settle(sessions, "tok", "serial_number", "X", 42) is None, "a second tap changes nothing"


async def test_only_a_disputed_field_of_an_existing_card_can_be_settled(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await remember(sessions)
    assert await cards.settle(sessions, "tok", "model", "W22", 42) is None
    assert await cards.settle(sessions, "gone", "serial_number", "X", 42) is None
