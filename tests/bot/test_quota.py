"""Quota rules (pure) and the atomic reservation on a real SQLite file under concurrency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts import questions, quota
from bot.runtime.models import User

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("is_admin", "paid_until", "plan"),
    [
        (True, None, "admin"),
        (True, NOW - timedelta(days=1), "admin"),
        (False, NOW + timedelta(seconds=1), "paid"),
        (False, NOW, "free"),
        (False, NOW - timedelta(days=1), "free"),
        (False, None, "free"),
    ],
)
def test_plan_of(is_admin: bool, paid_until: datetime | None, plan: str) -> None:
    assert quota.plan_of(is_admin=is_admin, paid_until=paid_until, now=NOW) == plan


@pytest.mark.parametrize(("used", "limit", "left"), [(0, 3, 3), (2, 3, 1), (3, 3, 0), (5, 3, 0), (0, 0, 0)])
def test_free_left(used: int, limit: int, left: int) -> None:
    assert quota.free_left(free_used=used, free_limit=limit) == left


async def _new_user(sessions: async_sessionmaker[AsyncSession], user_id: int, **fields: object) -> None:
    async with sessions.begin() as session:
        await quota.touch_user(session, user_id=user_id, first_name="Ann", username=None, language_code="en", now=NOW)
        if fields:
            user = await session.get(User, user_id)
            for key, value in fields.items():
                setattr(user, key, value)


async def _reserve(sessions: async_sessionmaker[AsyncSession], user_id: int, is_admin: bool = False) -> object:
    async with sessions.begin() as session:
        return await quota.reserve(session, user_id=user_id, is_admin=is_admin, free_limit=3, now=NOW)


async def test_ten_concurrent_photos_get_exactly_the_free_photos_left(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _new_user(sessions, 42)
    results = await asyncio.gather(*(_reserve(sessions, 42) for _ in range(10)))
    assert sum(r is not None for r in results) == 3
    async with sessions() as session:
        user = await session.get(User, 42)
        assert user is not None and user.free_used == 3


async def test_release_gives_the_photo_back_and_never_goes_negative(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _new_user(sessions, 42)
    reservation = await _reserve(sessions, 42)
    assert isinstance(reservation, quota.Reservation)
    for _ in range(2):
        async with sessions.begin() as session:
            await quota.release(session, reservation)
    async with sessions() as session:
        user = await session.get(User, 42)
        assert user is not None and user.free_used == 0


async def test_paid_and_admin_users_are_not_counted(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _new_user(sessions, 1, paid_until=NOW + timedelta(days=30))
    await _new_user(sessions, 2)
    for _ in range(5):
        assert await _reserve(sessions, 1) is not None
        assert await _reserve(sessions, 2, is_admin=True) is not None
    async with sessions() as session:
        assert [(await session.get(User, i)).free_used for i in (1, 2)] == [0, 0]  # type: ignore[union-attr]


async def test_touch_user_creates_once_and_refreshes(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _new_user(sessions, 7)
    async with sessions.begin() as session:
        await quota.touch_user(
            session, user_id=7, first_name="Anna", username="anna", language_code="de", now=NOW + timedelta(hours=1)
        )
    async with sessions() as session:
        user = await session.get(User, 7)
        assert user is not None and (user.first_name, user.username, user.free_used) == ("Anna", "anna", 0)


async def test_a_crowds_first_contacts_in_one_write_a_user_twice_keeps_the_newest(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _new_user(sessions, 7, free_used=2)
    later = NOW + timedelta(minutes=5)
    touches = [quota.Touch(100 + n, quota.Profile(f"T{n}", None, "es"), NOW) for n in range(30)]
    touches += [
        quota.Touch(7, quota.Profile("Anna", "anna", "de"), later),  # known: refreshed, counters kept
        quota.Touch(100, quota.Profile("T0 renamed", None, "pt"), later),  # twice in one batch: the newest
    ]
    async with sessions.begin() as session:
        await quota.touch_users(session, touches)
    async with sessions() as session:
        rows = {u.id: u for u in (await session.scalars(select(User))).all()}
    assert len(rows) == 31
    assert (rows[7].first_name, rows[7].free_used, rows[7].language_code) == ("Anna", 2, "de")
    assert (rows[100].first_name, rows[100].language_code) == ("T0 renamed", "pt")
    assert rows[129].first_name == "T29" and rows[129].free_used == 0


async def test_reserve_for_a_user_whose_row_was_never_written_creates_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The gate's user write can fail under load; the photo must still get its free analysis, not "used up"."""
    reservation = await _reserve(sessions, 77)
    assert isinstance(reservation, quota.Reservation) and reservation.plan == "free"
    async with sessions() as session:
        user = await session.get(User, 77)
        assert user is not None and user.free_used == 1


async def _ask(sessions: async_sessionmaker[AsyncSession], now: datetime = NOW) -> questions.QuestionTicket | None:
    async with sessions.begin() as session:
        return await questions.reserve_question(session, user_id=42, is_admin=False, limit=3, now=now)


async def test_concurrent_questions_get_exactly_todays_allowance_and_a_new_day_renews_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _new_user(sessions, 42, questions_day=(NOW - timedelta(days=1)).date(), questions_used=3)
    results = await asyncio.gather(*(_ask(sessions) for _ in range(8)))
    tickets = [r for r in results if r is not None]
    assert len(tickets) == 3, "yesterday's count does not carry over; today's three are taken once each"
    async with sessions.begin() as session:
        await questions.release_question(session, tickets[0])
    assert await _ask(sessions) is not None and await _ask(sessions) is None
    assert await _ask(sessions, NOW + timedelta(days=1)) is not None
    async with sessions() as session:
        user = await session.get(User, 42)
        assert user is not None and user.free_used == 0, "questions never touch the free photos"
