"""Where the month's spend is heading, and why a day ran hot: pure arithmetic over daily ledger figures.

The projection is month-to-date spend plus the trailing daily average (the last ``TRAILING`` complete days)
for each day left in the month. A day is a *spike* when its spend is more than 20 % above that trailing
average (judged once there are at least ``MIN_HISTORY`` days before it). Spend = photos × cost per photo, so
the alert says which factor moved: more traffic, or each photo costing more — and, for the latter, whether
the escalation rate rose (the first tier answering worse) or the calls themselves got dearer.
"""

from __future__ import annotations

import calendar
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts.amounts import usd as format_usd  # "$0.0012", never "$0.0000"
from bot.i18n import N_, Translator
from pipeline.ledger import read_calls

TRAILING = 7
MIN_HISTORY = 3
SPIKE = 0.20
ESCALATION_SHIFT = 0.05  # a rise in escalation rate of 5 points or more counts as "the first tier got worse"


@dataclass(frozen=True)
class Day:
    """One UTC day: photos answered by a model or the cache, requests that needed a second tier, spend."""

    day: date
    photos: int = 0
    escalated: int = 0
    spend: int = 0


def trailing_average(days: Sequence[Day]) -> float:
    return sum(d.spend for d in days) / len(days) if days else 0.0


def projection(month_to_date: int, daily_average: float, today: date) -> int:
    """Month-end spend if the rest of the month (after today) runs at ``daily_average``."""
    left = calendar.monthrange(today.year, today.month)[1] - today.day
    return month_to_date + round(daily_average * left)


@dataclass(frozen=True)
class Spike:
    day: Day
    expected: float  # trailing daily average of spend
    traffic: float  # photos / average photos
    cost_per_photo: float  # cost per photo / average cost per photo
    escalation: float  # share of photos escalated that day
    escalation_before: float
    cause: str  # English, marked with N_: one of CAUSES


MORE_TRAFFIC = N_("more traffic")
WORSE_FIRST_TIER = N_("a worse first tier (more photos escalated)")
DEARER_CALLS = N_("dearer calls at the same escalation rate (prices, bigger photos or longer answers)")
CAUSES = (MORE_TRAFFIC, WORSE_FIRST_TIER, DEARER_CALLS)


def spike(day: Day, history: Sequence[Day]) -> Spike | None:
    """``day`` against the days before it; None when it is within 20 % or there is too little history."""
    if len(history) < MIN_HISTORY:
        return None
    expected = trailing_average(history)
    if day.spend <= expected * (1 + SPIKE) or day.photos == 0:
        return None
    photos = sum(d.photos for d in history) / len(history)
    per_photo_before = expected / photos if photos else 0.0
    traffic = day.photos / photos if photos else math.inf
    per_photo = (day.spend / day.photos) / per_photo_before if per_photo_before else math.inf
    before = sum(d.escalated for d in history) / max(1, sum(d.photos for d in history))
    now = day.escalated / day.photos
    if traffic >= per_photo:
        cause = MORE_TRAFFIC
    elif now - before >= ESCALATION_SHIFT:
        cause = WORSE_FIRST_TIER
    else:
        cause = DEARER_CALLS
    return Spike(day, expected, traffic, per_photo, now, before, cause)


def _ratio(value: float, tr: Translator) -> str:
    return tr.gettext("n/a") if math.isinf(value) else f"{(value - 1) * 100:+.0f}%"


def _percent(share: float) -> str:
    return f"{share * 100:.0f}"


def spike_text(s: Spike, tr: Translator) -> str:
    """The admins' spend-spike alert, in ``tr``'s language (Telegram HTML)."""
    day, spend = s.day.day.isoformat(), format_usd(s.day.spend)
    if not s.expected:
        return tr.gettext("📈 Spend on {day} was {spend} after days of none.", day=day, spend=spend)
    photos = tr.ngettext("{n} photo", "{n} photos", s.day.photos, n=s.day.photos)
    return tr.gettext(
        "📈 Spend on {day} was <b>{spend}</b>, {above}% above the trailing average of {average}/day. "
        "Traffic {traffic} ({photos}), cost per photo {per_photo}, escalation rate {rate}% (was {before}%). "
        "Mostly: <b>{cause}</b>.",
        day=day, spend=spend, above=_percent(s.day.spend / s.expected - 1), average=format_usd(round(s.expected)),
        traffic=_ratio(s.traffic, tr), photos=photos, per_photo=_ratio(s.cost_per_photo, tr),
        rate=_percent(s.escalation), before=_percent(s.escalation_before), cause=tr.gettext(s.cause),
    )  # fmt: skip


async def daily(session: AsyncSession, first: date, last: date) -> list[Day]:
    """Every day from ``first`` to ``last`` inclusive (days without traffic included, as zeros)."""
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    spend: dict[date, int] = defaultdict(int)
    asked: dict[tuple[date, str], int] = defaultdict(int)
    photos: dict[date, set[str]] = defaultdict(set)
    for call in await read_calls(session, since=start, until=end):
        when = call.created_at.date()
        spend[when] += call.cost_micro_usd
        if call.purpose != "serve":
            continue
        photos[when].add(call.request_id)
        if call.tier != "cache" and not call.outcome.startswith("skipped"):
            asked[(when, call.request_id)] += 1
    escalated: dict[date, int] = defaultdict(int)
    for (when, _), count in asked.items():
        escalated[when] += count > 1
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [Day(d, len(photos[d]), escalated[d], spend[d]) for d in days]


async def yesterday_spike(session: AsyncSession, today: date) -> Spike | None:
    yesterday = today - timedelta(days=1)
    days = await daily(session, yesterday - timedelta(days=TRAILING), yesterday)
    history = [d for d in days[:-1] if d.photos or d.spend]
    return spike(days[-1], history)


@dataclass(frozen=True)
class MonthForecast:
    month_to_date: int
    projected: int
    daily_average: float


async def month_forecast(session: AsyncSession, today: date) -> MonthForecast:
    """/cost's forecast: month to date and the month-end projection at the trailing average."""
    first = today.replace(day=1)
    days = await daily(session, min(first, today - timedelta(days=TRAILING)), today)
    month_to_date = sum(d.spend for d in days if d.day >= first)
    recent = [d for d in days if today - timedelta(days=TRAILING) <= d.day < today]
    average = trailing_average(recent)
    return MonthForecast(month_to_date, projection(month_to_date, average, today), average)


def month_lines(month: MonthForecast | None, tr: Translator) -> list[str]:
    """The forecast's lines in /cost, in ``tr``'s language (none when there is no forecast)."""
    if month is None:
        return []
    return [
        "\n"
        + tr.ngettext(
            "Month to date: <b>{spent}</b> · projected month end <b>{projected}</b> (at the last {n} day's "
            "average of {average}/day)",
            "Month to date: <b>{spent}</b> · projected month end <b>{projected}</b> (at the last {n} days' "
            "average of {average}/day)",
            TRAILING,
            n=TRAILING,
            spent=format_usd(month.month_to_date),
            projected=format_usd(month.projected),
            average=format_usd(round(month.daily_average)),
        )
    ]
