"""Which language a user gets: their /language choice, else Telegram's ``language_code``, else English."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n.catalog import LANGUAGES, SOURCE_LANGUAGE, Translator, translator
from bot.runtime.models import User


def choose_language(chosen: str | None, telegram_code: str | None) -> str:
    """Pure. Telegram sends IETF tags such as ``pt-br`` or ``de``; only the primary subtag is used."""
    for candidate in (chosen, telegram_code):
        primary = (candidate or "").split("-")[0].split("_")[0].lower()
        if primary in LANGUAGES:
            return primary
    return SOURCE_LANGUAGE


async def translator_for(session: AsyncSession, user_id: int, telegram_code: str | None = None) -> Translator:
    """The user's translator (one primary-key read). ``telegram_code`` is used when the user has no row yet."""
    row = (await session.execute(select(User.language, User.language_code).where(User.id == user_id))).first()
    chosen, stored_code = (row[0], row[1]) if row is not None else (None, None)
    return translator(choose_language(chosen, stored_code or telegram_code))
