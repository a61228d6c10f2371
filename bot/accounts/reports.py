"""The admin cost report (/cost): SQL sums over the ledger, pure arithmetic on them, text, and a chart.

Every amount is summed in SQL as integer micro-USD. The baseline answers "what would this have cost if every
photo had gone straight to ``COST_BASELINE_MODEL``": for each analysis that called a model, the largest input
and output token counts the ledger recorded for it are priced at the baseline model's rates (the same image
costs roughly the same tokens everywhere, and the largest call is the one a single model would have made);
analyses with no recorded usage (cache hits, local-only answers that report none) are given the average of the
others, since without the cache they too would have been sent. It is an estimate and is labelled as one.
The chart converts to dollars as floats only to draw them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from html import escape
from typing import Any, Literal, TypeVar

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts import forecast
from bot.accounts.amounts import tokens, usd
from bot.accounts.forecast import MonthForecast
from bot.i18n import N_, Translator, translator
from bot.runtime.models import User
from pipeline.costs import Price, cost_micro_usd
from pipeline.models import ModelCall
from pipeline.questions import QUESTION_PREFIX, TRANSLATION_PREFIX
from pipeline.types import Usage

Period = Literal["today", "7d", "30d", "all"]
PERIODS: dict[str, Period] = {"today": "today", "7d": "7d", "30d": "30d", "all": "all"}
DEFAULT_PERIOD: Period = "7d"  # /cost and `plc-copilot cost` alike: one day is rarely enough to judge spend
# Outcomes of a model call that produced no answer (pipeline/errors.py, cascade.py): shown as failures.
FAILED = ("error", "unavailable", "rate_limited", "auth_error", "rejected", "bad_output")
TOP_USERS = 5
Q = TypeVar("Q", bound="Select[*tuple[Any, ...]]")


def period_start(period: Period, now: datetime) -> datetime | None:
    midnight = datetime.combine(now.date(), datetime.min.time(), tzinfo=UTC)
    return {"today": midnight, "7d": midnight - timedelta(days=6), "30d": midnight - timedelta(days=29)}.get(period)


def average(total: int, count: int) -> int:
    """Integer micro-USD average, rounded half up; 0 for no analyses."""
    if count == 0:
        return 0
    return int((Decimal(total) / count).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def baseline_cost(usages: list[tuple[int, int]], analyses: int, price: Price) -> int:
    """Pure: ``usages`` is (input, output) tokens per analysis that recorded any; the rest get their average."""
    priced = [cost_micro_usd(price, Usage(i, o)) for i, o in usages]
    missing = max(0, analyses - len(priced))
    return sum(priced) + missing * average(sum(priced), len(priced))


@dataclass(frozen=True)
class Line:
    name: str
    calls: int
    input_tokens: int
    output_tokens: int
    micro_usd: int
    failed: int = 0


@dataclass
class CostReport:
    period: Period
    analyses: int = 0
    questions: int = 0  # questions answered in words (their spend is in the totals)
    cache_hits: int = 0
    total_micro_usd: int = 0
    by_provider: list[Line] = field(default_factory=list)
    by_tier: list[Line] = field(default_factory=list)
    top_users: list[tuple[str, int]] = field(default_factory=list)
    baseline_model: str = ""
    baseline_micro_usd: int | None = None
    daily: dict[date, dict[str, int]] = field(default_factory=dict)
    forecast: MonthForecast | None = None  # month to date and month-end projection

    @property
    def average_micro_usd(self) -> int:
        return average(self.total_micro_usd, self.analyses)


def _since(query: Q, start: datetime | None) -> Q:
    return query if start is None else query.where(ModelCall.created_at >= start)


async def build_report(
    session: AsyncSession, period: Period, now: datetime, *, baseline_model: str, baseline: Price | None
) -> CostReport:
    start = period_start(period, now)
    report = CostReport(period, baseline_model=baseline_model)
    hit = case((ModelCall.tier == "cache", ModelCall.request_id))
    # Questions answered in words and work-order translations (pipeline/questions.py, request ids "q-…" and
    # "t-…") are spend, not photo analyses.
    is_question = ModelCall.request_id.like(QUESTION_PREFIX + "%")
    is_text = or_(is_question, ModelCall.request_id.like(TRANSLATION_PREFIX + "%"))
    totals = _since(
        select(
            func.count(case((~is_text, ModelCall.request_id)).distinct()),
            func.count(hit.distinct()),
            func.coalesce(func.sum(ModelCall.cost_micro_usd), 0),
            func.count(case((is_question, ModelCall.request_id)).distinct()),
        ),
        start,
    )
    totals_row = (await session.execute(totals)).one()
    report.analyses, report.cache_hits, report.total_micro_usd, report.questions = (int(v) for v in totals_row)
    made = ModelCall.tier != "cache", ModelCall.outcome.not_like("skipped%")
    # Tiers are grouped with their provider, so one table can name both when they are one to one.
    groups = ((report.by_provider, (ModelCall.provider,)), (report.by_tier, (ModelCall.tier, ModelCall.provider)))
    for target, columns in groups:
        query = select(
            *columns,
            func.count(),
            func.sum(ModelCall.input_tokens),
            func.sum(ModelCall.output_tokens),
            func.sum(ModelCall.cost_micro_usd),
            func.sum(case((ModelCall.outcome.in_(FAILED), 1), else_=0)),
        ).where(*made)
        rows = await session.execute(
            _since(query, start).group_by(*columns).order_by(func.sum(ModelCall.cost_micro_usd).desc())
        )
        for row in rows.all():
            names, numbers = [str(v) for v in row[: len(columns)]], [int(v) for v in row[len(columns) :]]
            name = names[0] if len(set(names)) == 1 else f"{names[0]} ({names[1]})"
            target.append(Line(name, *numbers))
    spend = func.sum(ModelCall.cost_micro_usd)
    users = _since(
        select(ModelCall.user_id, User.first_name, spend)
        .outerjoin(User, User.id == ModelCall.user_id)
        .where(ModelCall.user_id.is_not(None)),
        start,
    )
    top = await session.execute(
        users.group_by(ModelCall.user_id, User.first_name).order_by(spend.desc()).limit(TOP_USERS)
    )
    report.top_users = [(f"{name or '?'} ({uid})", int(total)) for uid, name, total in top.all()]
    if baseline is not None:
        usage = _since(
            select(func.max(ModelCall.input_tokens), func.max(ModelCall.output_tokens))
            .where(ModelCall.input_tokens + ModelCall.output_tokens > 0)
            .group_by(ModelCall.request_id),
            start,
        )
        usages = [(int(i), int(o)) for i, o in (await session.execute(usage)).all()]
        report.baseline_micro_usd = baseline_cost(usages, report.analyses, baseline)
    day = func.date(ModelCall.created_at)
    daily = _since(select(day, ModelCall.provider, spend).where(*made).group_by(day, ModelCall.provider), start)
    for when, provider, total in (await session.execute(daily)).all():
        report.daily.setdefault(date.fromisoformat(str(when)[:10]), {})[str(provider)] = int(total)
    report.forecast = await forecast.month_forecast(session, now.date())
    return report


PERIOD_LABELS = {
    "today": N_("today (UTC)"),
    "7d": N_("the last 7 days"),
    "30d": N_("the last 30 days"),
    "all": N_("all time"),
}


def report_text(report: CostReport, tr: Translator | None = None) -> str:
    """Telegram HTML for /cost, in ``tr``'s language (English by default)."""
    tr = tr or translator("en")
    rate = f" ({report.cache_hits * 100 // report.analyses} %)" if report.analyses else ""
    n = report.analyses
    head = tr.ngettext("{n} analysis", "{n} analyses", n, n=f"{n:,}")
    head += " · " + tr.gettext("{n} from the cache", n=report.cache_hits) + rate
    if report.questions:
        head += " · " + tr.ngettext(
            "{n} question answered", "{n} questions answered", report.questions, n=f"{report.questions:,}"
        )
    spent = tr.gettext("Spent: <b>{amount}</b>", amount=usd(report.total_micro_usd))
    if report.analyses:
        spent += " · " + tr.gettext("{amount} per analysis", amount=usd(report.average_micro_usd))
    lines = [tr.gettext("<b>💰 Cost, {period}</b>", period=tr.gettext(PERIOD_LABELS[report.period])), head, spent]
    # Tiers and providers are usually one to one; a second table would repeat the same numbers.
    tables = [(tr.gettext("By tier"), report.by_tier)]
    if len(report.by_provider) != len(report.by_tier):
        tables.insert(0, (tr.gettext("By provider"), report.by_provider))
    for title, table in tables:
        lines.append(f"\n<b>{title}</b>")
        lines.extend(_line(x, tr) for x in table)
        if not table:
            lines.append(tr.gettext("• no model calls"))
    if report.top_users:
        lines.append("\n" + tr.gettext("<b>Top users by spend</b>"))
        lines.extend(f"• {escape(name)}: {usd(total)}" for name, total in report.top_users)
    model = escape(report.baseline_model)
    if report.baseline_micro_usd is None:
        lines.append(
            "\n" + tr.gettext("No price for the baseline model {model}, so no saving can be computed.", model=model)
        )
    else:
        saved = report.baseline_micro_usd - report.total_micro_usd
        verdict = (
            tr.gettext("the cascade saved {amount}.", amount=usd(saved))
            if saved >= 0
            else tr.gettext("the cascade cost {amount} more.", amount=usd(-saved))
        )
        lines.append(
            "\n"
            + tr.gettext(
                "The same photos sent to {model} alone would have cost about <b>{amount}</b>: {verdict}",
                model=model, amount=usd(report.baseline_micro_usd), verdict=verdict,
            )
        )  # fmt: skip
    lines.extend(forecast.month_lines(report.forecast, tr))
    return "\n".join(lines)


def _line(x: Line, tr: Translator) -> str:
    failed = ", " + tr.ngettext("{n} failed", "{n} failed", x.failed, n=x.failed) if x.failed else ""
    tokens_used = (
        " · " + tr.gettext("{input} in / {output} out", input=tokens(x.input_tokens), output=tokens(x.output_tokens))
        if x.input_tokens
        else ""
    )
    calls = tr.ngettext("{n} call", "{n} calls", x.calls, n=f"{x.calls:,}")
    return f"• {escape(x.name)}: {calls}{failed} · {usd(x.micro_usd)}{tokens_used}"
