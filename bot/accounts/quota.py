"""Users, plans and the free-photo quota.

The quota is reserved *before* any model call with one conditional UPDATE (``free_used < limit``), so
concurrent photos from one user can never together take more than what is left: the database serialises the
writes and each either takes a unit or does not. A reservation is released when the analysis fails or is
answered from the cache (both free). ``plan_of`` is the pure rule; the rest is thin SQL.

``KnownUsers`` spares the database a write per update: a user this process has written, whose name is unchanged,
is written again only to refresh ``last_seen_at`` once per ``TOUCH_EVERY`` (``needs_touch`` is the rule).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime.models import User
from pipeline.models import upsert_insert

Plan = Literal["admin", "paid", "free"]

TOUCH_EVERY = timedelta(hours=1)  # last_seen_at is for reports by day; an hour's precision is plenty


def plan_of(*, is_admin: bool, paid_until: datetime | None, now: datetime) -> Plan:
    if is_admin:
        return "admin"
    if paid_until is not None and paid_until > now:
        return "paid"
    return "free"


def free_left(*, free_used: int, free_limit: int) -> int:
    return max(0, free_limit - free_used)


@dataclass(frozen=True)
class Standing:
    """Where a user stands, for /start, /usage and /upgrade."""

    plan: Plan
    free_used: int  # capped at the limit (the counter can exceed it after FREE_PHOTOS is lowered)
    free_left: int
    paid_until: datetime | None


async def standing(session: AsyncSession, *, user_id: int, is_admin: bool, free_limit: int, now: datetime) -> Standing:
    user = await session.get(User, user_id)
    used = user.free_used if user else 0
    paid_until = user.paid_until if user else None
    return Standing(
        plan=plan_of(is_admin=is_admin, paid_until=paid_until, now=now),
        free_used=min(used, free_limit),
        free_left=free_left(free_used=used, free_limit=free_limit),
        paid_until=paid_until,
    )


@dataclass(frozen=True)
class Reservation:
    user_id: int
    plan: Plan

    @property
    def counts_against_quota(self) -> bool:
        return self.plan == "free"


async def touch_user(
    session: AsyncSession,
    *,
    user_id: int,
    first_name: str,
    username: str | None,
    language_code: str | None,
    now: datetime,
) -> None:
    """Create the user on first contact, refresh name and last-seen otherwise (one statement, race-free)."""
    await touch_users(session, [Touch(user_id, Profile(first_name, username, language_code), now)])


@dataclass(frozen=True)
class Touch:
    user_id: int
    profile: Profile
    now: datetime


async def touch_users(session: AsyncSession, touches: list[Touch]) -> None:
    """``touch_user`` for several users in one statement (a crowd's first contacts; bot/updates/batch.py). A user
    touched twice in the batch is written once, with the newest profile."""
    newest: dict[int, Touch] = {}
    for touch in touches:
        if touch.user_id not in newest or touch.now >= newest[touch.user_id].now:
            newest[touch.user_id] = touch
    rows = [
        {
            "id": t.user_id,
            "first_seen_at": t.now,
            "free_used": 0,
            "first_name": t.profile.first_name[:128],
            "username": t.profile.username,
            "language_code": t.profile.language_code,
            "last_seen_at": t.now,
        }
        for t in newest.values()
    ]
    insert = upsert_insert(session)
    statement = insert(User).values(rows)
    changed = {name: statement.excluded[name] for name in ("first_name", "username", "language_code", "last_seen_at")}
    await session.execute(statement.on_conflict_do_update(index_elements=["id"], set_=changed))


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def user_row(session: AsyncSession, user_id: int, now: datetime) -> User | None:
    """The user's row, created if missing: the gate's write may have failed (a locked database under a crowd),
    which is no reason to refuse a photo or a question."""
    user = await session.scalar(select(User).where(User.id == user_id))
    if user is None:
        insert = upsert_insert(session)
        await session.execute(
            insert(User)
            .values(id=user_id, first_name="", free_used=0, first_seen_at=now, last_seen_at=now)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        user = await session.scalar(select(User).where(User.id == user_id))
    return user


async def reserve(
    session: AsyncSession, *, user_id: int, is_admin: bool, free_limit: int, now: datetime
) -> Reservation | None:
    """Take one analysis for this user, or None when their free photos are used up."""
    user = await user_row(session, user_id, now)
    if user is None:
        return None
    plan = plan_of(is_admin=is_admin, paid_until=user.paid_until, now=now)
    if plan != "free":
        return Reservation(user_id, plan)
    result = await session.execute(
        update(User)
        .where(User.id == user_id, User.free_used < free_limit)
        .values(free_used=User.free_used + 1)
        .execution_options(synchronize_session=False)
    )
    return Reservation(user_id, "free") if result.rowcount == 1 else None  # type: ignore[attr-defined]


async def release(session: AsyncSession, reservation: Reservation) -> None:
    if not reservation.counts_against_quota:
        return
    await session.execute(
        update(User)
        .where(User.id == reservation.user_id, User.free_used > 0)
        .values(free_used=User.free_used - 1)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class Profile:
    first_name: str
    username: str | None
    language_code: str | None


def needs_touch(known: tuple[Profile, datetime] | None, profile: Profile, now: datetime) -> bool:
    """Pure: write the user row when we have not written it, the profile changed, or last-seen is an hour old."""
    if known is None:
        return True
    written, at = known
    return written != profile or now - at >= TOUCH_EVERY


class KnownUsers:
    """What this process last wrote for each recent user (bounded, least recently seen forgotten first)."""

    def __init__(self, max_users: int = 50_000) -> None:
        self._max = max_users
        self._known: OrderedDict[int, tuple[Profile, datetime]] = OrderedDict()

    def needs_touch(self, user_id: int, profile: Profile, now: datetime) -> bool:
        known = self._known.get(user_id)
        if known is not None:
            self._known.move_to_end(user_id)
        return needs_touch(known, profile, now)

    def touched(self, user_id: int, profile: Profile, now: datetime) -> None:
        self._known[user_id] = (profile, now)
        self._known.move_to_end(user_id)
        while len(self._known) > self._max:
            self._known.popitem(last=False)
