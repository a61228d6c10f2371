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
from bot.i18n import Translator, translator
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


def label(key: str, names: dict[int, str | None], tr: Translator | None = None) -> str:
    tr = tr or translator("en")
    if key == "daily":
        return tr.gettext("Daily cap on all cloud analysis")
    if key == "alert":
        return tr.gettext("Alert level")
    user_id = int(key.split(":", 1)[1])
    return tr.gettext("Daily cap for {name} ({id})", name=escape(names.get(user_id) or tr.gettext("user")), id=user_id)


def _cap(value: int | None, tr: Translator) -> str:
    return tr.gettext("no cap") if value is None else usd(value)


def changed(
    key: str, new: int | None, before: int | None, names: dict[int, str | None], tr: Translator | None = None
) -> str:
    """The reply to ``/budget daily|alert|user …``: what is in force now, what was, and what it means."""
    tr = tr or translator("en")
    what = label(key, names, tr)
    if key == "alert":
        shown = tr.gettext("off") if new is None else usd(new)
        was = tr.gettext("off") if before is None else usd(before)
    else:
        shown, was = _cap(new, tr), _cap(before, tr)
    line = tr.gettext("✅ {what}: <b>{shown}</b> (was {was}).", what=what, shown=shown, was=was)
    if new == 0 and key == "daily":
        line += "\n" + tr.gettext(
            "🛑 Cloud analysis is now <b>stopped</b> for everyone: photos are answered only from the cache and "
            "by the local model, if one is running. /budget daily 5.00 (or off) turns it back on."
        )
    elif new == 0 and key.startswith("user:"):
        line += "\n" + tr.gettext("🛑 Cloud analysis is now stopped for this user; other users are not affected.")
    elif key == "alert" and new is not None:
        line += " " + tr.gettext("Admins get one message the first day spend passes it.")
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


def _used(value: int, cap: int | None, tr: Translator) -> str:
    if cap is None:
        return tr.gettext("{amount} (no cap)", amount=usd(value))
    if cap == 0:
        return tr.gettext("$0.00: cloud analysis is <b>stopped</b>")
    return tr.gettext("{amount} of {cap} ({percent} %)", amount=usd(value), cap=usd(cap), percent=value * 100 // cap)


def report(view: BudgetView, tr: Translator | None = None) -> str:
    """/budget: today's spend against each limit, in the order an admin asks about them (in ``tr``'s language)."""
    tr = tr or translator("en")
    caps = view.caps
    lines = [
        tr.gettext("<b>💸 Budget for {day} (UTC)</b>", day=view.day.isoformat()),
        tr.gettext("Cloud spend today: <b>{amount}</b>", amount=usd(view.spent)),
    ]
    if view.counted > view.spent:
        held = usd(view.counted - view.spent)
        lines.append(tr.gettext("…plus {amount} held for analyses still running", amount=held))
    lines.append(tr.gettext("Daily cap: {used}", used=_used(view.counted, caps.daily, tr)))
    lines.append(
        tr.gettext("Alert: off")
        if caps.alert is None
        else tr.gettext("Alert when spend passes {amount}", amount=usd(caps.alert))
    )
    lines.append(
        tr.gettext("Per-user cap: none")
        if caps.user_default is None
        else tr.gettext("Per-user cap: {amount} a day", amount=usd(caps.user_default))
    )
    if view.by_provider:
        lines.append("")
        lines.append(tr.gettext("<b>By provider</b>"))
        lines.extend(f"• {escape(name)}: {usd(value)}" for name, value in view.by_provider)
    if view.users:
        lines.append("")
        lines.append(tr.gettext("<b>Users with their own cap</b>"))
        lines.extend(
            f"• {escape(u.name or tr.gettext('user'))} ({u.user_id}): {_used(u.spent, u.cap, tr)}" for u in view.users
        )
    lines.append("")
    lines.append(tr.gettext("Change: /budget daily 5.00 · /budget user ID 1.00 · /budget alert 10.00 (or off)"))
    return "\n".join(lines)


async def names(session: AsyncSession, key: str) -> dict[int, str | None]:
    """The first name of the user a "user:<id>" key is about (none for the global keys)."""
    if not key.startswith("user:"):
        return {}
    user_id = int(key.split(":", 1)[1])
    return {user_id: await session.scalar(select(User.first_name).where(User.id == user_id))}
