"""After a crash: every update accepted but not finished is run again, or the user is told plainly.

At start-up (before polling begins) the inbox lists the updates a previous process accepted and never finished. For
each, in one transaction: the free photo or free question it had taken is given back and the attempt is counted. A
message (a photo, a command) is then replayed through the runner, in its chat's order, editing its old status
message instead of sending a new one; the second interruption of the same update, or a button press (its callback
query has expired by now), is not tried again — its status message (or a new one) says what happened and that
nothing was charged. Budget estimates the dead process had reserved for those users are released too.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot, Update
from telegram.error import TelegramError

from bot.accounts import questions as allowance
from bot.accounts import quota
from bot.i18n import N_, translator, translator_for
from bot.updates import inbox
from bot.updates.inbox import Interrupted
from bot.updates.runner import UpdateRunner

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2  # an update that was interrupted twice may be what crashes the bot: do not try a third time
INTERRUPTED = N_(
    "😕 I was restarted while working on this and could not finish it. Nothing was charged and your free "
    "photo was not used. Please send it again."
)


@dataclass(frozen=True)
class Recovered:
    replayed: int
    told: int
    quota_released: int


def should_replay(entry: Interrupted) -> bool:
    """Pure: messages are replayed once; buttons are not (their query expired with the old process)."""
    return entry.kind == "message" and entry.attempts < MAX_ATTEMPTS


async def recover(
    sessions: async_sessionmaker[AsyncSession],
    runner: UpdateRunner,
    bot: Bot,
    *,
    started_at: datetime,
    release_budget: Callable[[set[int], datetime], Awaitable[int]] | None = None,
) -> Recovered:
    async with sessions() as session:
        entries = await inbox.interrupted(session, accepted_before=started_at)
    replayed = told = released = 0
    for entry in entries:
        async with sessions.begin() as session:
            replay = await settle(session, entry, started_at)
        released += entry.quota_user_id is not None
        if replay:
            await runner.replay(Update.de_json(entry.payload, bot), entry.status_message_id)
            replayed += 1
        elif entry.chat_id is not None and (entry.status_message_id is not None or entry.kind == "message"):
            await tell(bot, entry, sessions)
            told += 1
    users = {e.quota_user_id for e in entries if e.quota_user_id is not None}
    users |= {e.chat_id for e in entries if e.chat_id is not None and e.chat_id > 0}  # private chat id = user id
    if release_budget is not None and users:
        freed = await release_budget(users, started_at)
        if freed:
            log.warning("released %d budget reservations of interrupted work", freed)
    if entries:
        log.warning("recovered %d interrupted updates: %d replayed, %d told", len(entries), replayed, told)
    return Recovered(replayed, told, released)


async def settle(session: AsyncSession, entry: Interrupted, now: datetime) -> bool:
    """In the caller's transaction: give back what the interrupted attempt held (a free photo, a free question)
    and count the attempt. True: run it again; False: it is closed, tell the user (``tell``)."""
    if entry.quota_user_id is not None:
        await quota.release(session, quota.Reservation(entry.quota_user_id, "free"))
    if entry.question_user_id is not None and entry.question_day is not None:
        ticket = allowance.QuestionTicket(entry.question_user_id, "free", entry.question_day)
        await allowance.release_question(session, ticket)
    replay = should_replay(entry)
    if replay:
        await inbox.retry(session, entry.update_id, now)
    else:
        await inbox.finish(session, entry.update_id, now)
    return replay


def user_of(entry: Interrupted) -> int | None:
    """Who sent the interrupted update (its payload is Telegram's JSON)."""
    for key in ("message", "callback_query", "edited_message"):
        part = entry.payload.get(key)
        sender = part.get("from") if isinstance(part, dict) else None
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return int(sender["id"])
    return entry.chat_id


async def tell(bot: Bot, entry: Interrupted, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Say plainly, in the sender's language, that the work was cut short and nothing was charged."""
    assert entry.chat_id is not None
    user_id = user_of(entry)
    tr = translator("en")
    if user_id is not None:
        try:
            async with sessions() as session:
                tr = await translator_for(session, user_id)
        except Exception:
            log.warning("could not read the language of user %s", user_id, exc_info=True)
    text = tr.gettext(INTERRUPTED)
    try:
        if entry.status_message_id is not None:
            await bot.edit_message_text(text, chat_id=entry.chat_id, message_id=entry.status_message_id)
        else:
            await bot.send_message(entry.chat_id, text)
    except TelegramError:
        log.warning("could not tell chat %s about interrupted update %s", entry.chat_id, entry.update_id, exc_info=True)
