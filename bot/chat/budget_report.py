"""What admins read about budgets: the /budget report and the reply to a change.

People and plain words instead of storage keys ("Daily cap for Ann (42)", not ``user:42``); the value that was
*in force* before a change (the environment's default when nothing was stored), and what a cap of zero means
for the technicians. ``gather`` reads; ``report`` and ``changed`` are pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from html import escape

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts import budget
from bot.accounts.amounts import usd
from bot.runtime.models import User
from bot.runtime.settings import BotSettings
from pipeline.models import ModelCall


@dataclass(frozen=True)
class UserCap:
    user_id: int
    name: str | None
    spent: int
    cap: int | None


@dataclass(frozen=True)
class BudgetView:
    day: date
    spent: int  # settled, from the ledger
    counted: int  # settled plus the estimates of calls still running, as the cap sees it
    caps: budget.Caps
    by_provider: list[tuple[str, int]]
    users: list[UserCap]


def in_force(caps: budget.Caps, key: str) -> int | None:
    """The value that applies to ``key`` now ("daily", "alert" or "user:<id>"), stored or default."""
    if key == "daily":
        return caps.daily
    if key == "alert":
        return caps.alert
    return caps.for_user(int(key.split(":", 1)[1]))


def label(key: str, names: dict[int, str | None]) -> str:
    if key == "daily":
        return "Daily cap on all cloud analysis"
    if key == "alert":
        return "Alert level"
    user_id = int(key.split(":", 1)[1])
    return f"Daily cap for {escape(names.get(user_id) or 'user')} ({user_id})"


def _cap(value: int | None) -> str:
    return "no cap" if value is None else usd(value)


def changed(key: str, new: int | None, before: int | None, names: dict[int, str | None]) -> str:
    """The reply to ``/budget daily|alert|user …``: what is in force now, what was, and what it means."""
    what = label(key, names)
    if key == "alert":
        shown = "off" if new is None else usd(new)
        was = "off" if before is None else usd(before)
    else:
        shown, was = _cap(new), _cap(before)
    line = f"✅ {what}: <b>{shown}</b> (was {was})."
    if new == 0 and key == "daily":
        line += (
            "\n🛑 Cloud analysis is now <b>stopped</b> for everyone: photos are answered only from the cache and "
            "by the local model, if one is running. /budget daily 5.00 (or off) turns it back on."
        )
    elif new == 0 and key.startswith("user:"):
        line += "\n🛑 Cloud analysis is now stopped for this user; other users are not affected."
    elif key == "alert" and new is not None:
        line += " Admins get one message the first day spend passes it."
    return line


async def gather(session: AsyncSession, settings: BotSettings, day: date | None = None) -> BudgetView:
    day = day or datetime.now(UTC).date()
    start, end = budget.day_bounds(day)
    caps = await budget.load_caps(session, settings)
    spent = await budget.ledger_spend(session, day)
    counted = (await budget.counters(session, day)).get(budget.GLOBAL, spent)
    total = func.sum(ModelCall.cost_micro_usd)
    rows = await session.execute(
        select(ModelCall.provider, total)
        .where(ModelCall.created_at >= start, ModelCall.created_at < end, ModelCall.provider != "cache")
        .group_by(ModelCall.provider)
        .having(total > 0)  # the local model never costs anything: it is not cloud spend
        .order_by(total.desc())
    )
    capped = sorted(caps.users)
    names = dict((await session.execute(select(User.id, User.first_name).where(User.id.in_(capped)))).all())
    users = [
        UserCap(uid, names.get(uid), await budget.ledger_spend(session, day, uid), caps.users[uid]) for uid in capped
    ]
    return BudgetView(day, spent, max(spent, counted), caps, [(str(p), int(v)) for p, v in rows.all()], users)


def _used(value: int, cap: int | None) -> str:
    if cap is None:
        return f"{usd(value)} (no cap)"
    if cap == 0:
        return "$0.00: cloud analysis is <b>stopped</b>"
    return f"{usd(value)} of {usd(cap)} ({value * 100 // cap} %)"


def report(view: BudgetView) -> str:
    """/budget: today's spend against each limit, in the order an admin asks about them."""
    caps = view.caps
    lines = [f"<b>💸 Budget for {view.day.isoformat()} (UTC)</b>", f"Cloud spend today: <b>{usd(view.spent)}</b>"]
    if view.counted > view.spent:
        lines.append(f"…plus {usd(view.counted - view.spent)} held for analyses still running")
    lines.append(f"Daily cap: {_used(view.counted, caps.daily)}")
    lines.append("Alert: off" if caps.alert is None else f"Alert when spend passes {usd(caps.alert)}")
    lines.append("Per-user cap: none" if caps.user_default is None else f"Per-user cap: {usd(caps.user_default)} a day")
    if view.by_provider:
        lines.append("")
        lines.append("<b>By provider</b>")
        lines.extend(f"• {escape(name)}: {usd(value)}" for name, value in view.by_provider)
    if view.users:
        lines.append("")
        lines.append("<b>Users with their own cap</b>")
        lines.extend(f"• {escape(u.name or 'user')} ({u.user_id}): {_used(u.spent, u.cap)}" for u in view.users)
    lines.append("")
    lines.append("Change: /budget daily 5.00 · /budget user ID 1.00 · /budget alert 10.00 (or off)")
    return "\n".join(lines)


async def names(session: AsyncSession, key: str) -> dict[int, str | None]:
    """The first name of the user a "user:<id>" key is about (none for the global keys)."""
    if not key.startswith("user:"):
        return {}
    user_id = int(key.split(":", 1)[1])
    return {user_id: await session.scalar(select(User.first_name).where(User.id == user_id))}
