"""Accuracy by tier and model (``/quality``, ``plc-copilot quality``): pure aggregation over ledger rows and
shown answers with their feedback, then text and a phone-sized chart.

What each figure means:
- *answers*: valid answers the tier gave (accepted or escalated); *errors*: calls that produced none.
- *escalated*: answers whose score was below the tier's threshold, so the next tier was asked.
- feedback is counted on the answers technicians saw, attributed to the tier and model that wrote them (a cache
  hit is attributed to the tier that wrote the cached answer). An answer is *judged wrong* when anyone tapped
  Wrong, replied with a correction, or a re-check disagreed with it.
- *plate*: fields the plate reader confirmed / contradicted in the tier's answers, when it ran.
- *cost per accepted answer*: everything the tier cost (escalated and failed calls included) divided by the
  answers it got accepted — what one usable answer from it really costs.
- latency percentiles are nearest-rank over every call that reached the tier.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts.reports import PERIOD_LABELS, Period, average, period_start
from bot.i18n import N_, Translator, translator
from bot.quality.models import Feedback, ShownAnswer
from pipeline import format_usd
from pipeline.ledger import Recorded, read_calls

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ANSWERED = ("accepted", "escalated")


def percentile(values: Sequence[int], p: float) -> int | None:
    """Nearest-rank percentile (an observed value, never interpolated); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class ShownRow:
    """One answer a technician saw, with what was said about it."""

    tier: str | None
    model: str | None
    arm: str | None = None
    cost_micro_usd: int = 0  # what the answer cost (0 from the cache)
    right: int = 0  # Right taps
    wrong: int = 0  # Wrong taps
    corrections: int = 0
    rechecks: int = 0
    recheck_disagreed: int = 0

    @property
    def judged_wrong(self) -> bool:
        return self.wrong > 0 or self.corrections > 0 or self.recheck_disagreed > 0


@dataclass
class TierQuality:
    tier: str
    model: str
    calls: int = 0
    answers: int = 0
    accepted: int = 0
    escalated: int = 0
    cost_micro_usd: int = 0
    latencies: list[int] = field(default_factory=list)
    confirmed: int = 0
    contradicted: int = 0
    shown: int = 0
    thumbs_up: int = 0
    thumbs_down: int = 0
    corrections: int = 0
    rechecks: int = 0
    recheck_disagreed: int = 0
    judged_wrong: int = 0
    first_seen: datetime | None = None  # its first call in the period: orders a tier's models (a model change)

    @property
    def errors(self) -> int:
        return self.calls - self.answers

    @property
    def cost_per_accepted(self) -> int | None:
        return average(self.cost_micro_usd, self.accepted) if self.accepted else None

    @property
    def escalation_rate(self) -> float | None:
        return self.escalated / self.answers if self.answers else None

    @property
    def wrong_rate(self) -> float | None:
        return self.judged_wrong / self.shown if self.shown else None

    @property
    def p50(self) -> int | None:
        return percentile(self.latencies, 50)

    @property
    def p95(self) -> int | None:
        return percentile(self.latencies, 95)


def aggregate(calls: Iterable[Recorded], shown: Iterable[ShownRow]) -> list[TierQuality]:
    """Per (tier, model), in the order tiers were first called. Skipped steps and cache rows are not calls."""
    table: dict[tuple[str, str], TierQuality] = {}

    def row(tier: str, model: str) -> TierQuality:
        return table.setdefault((tier, model), TierQuality(tier, model))

    for call in calls:
        if call.tier == "cache" or call.outcome.startswith("skipped"):
            continue
        line = row(call.tier, call.model)
        if line.first_seen is None or call.created_at < line.first_seen:
            line.first_seen = call.created_at
        line.calls += 1
        line.cost_micro_usd += call.cost_micro_usd
        line.latencies.append(call.latency_ms)
        if call.outcome in ANSWERED:
            line.answers += 1
            line.accepted += call.outcome == "accepted"
            line.escalated += call.outcome == "escalated"
        for verdict in (call.evidence or {}).values():
            line.confirmed += verdict == "confirmed"
            line.contradicted += verdict == "contradicted"
    for answer in shown:
        if answer.tier is None or answer.model is None:
            continue
        line = row(answer.tier, answer.model)
        line.shown += 1
        line.thumbs_up += answer.right
        line.thumbs_down += answer.wrong
        line.corrections += answer.corrections
        line.rechecks += answer.rechecks
        line.recheck_disagreed += answer.recheck_disagreed
        line.judged_wrong += answer.judged_wrong
    return list(table.values())


@dataclass
class QualityReport:
    period: Period
    tiers: list[TierQuality]
    shown: list[ShownRow]


async def load_shown(session: AsyncSession, since: datetime | None) -> list[ShownRow]:
    """Shown answers since ``since`` with their feedback counted per kind."""
    answers = select(
        ShownAnswer.token, ShownAnswer.tier, ShownAnswer.model, ShownAnswer.arm, ShownAnswer.cost_micro_usd
    )
    said = select(Feedback.token, Feedback.kind, Feedback.verdict).join(
        ShownAnswer, ShownAnswer.token == Feedback.token
    )
    if since is not None:
        answers = answers.where(ShownAnswer.created_at >= since)
        said = said.where(ShownAnswer.created_at >= since)
    counts: dict[str, dict[str, int]] = {}
    for token, kind, verdict in (await session.execute(said)).all():
        key = {"vote": verdict, "correction": "corrections", "recheck": "rechecks"}[kind]
        mine = counts.setdefault(token, {})
        mine[key] = mine.get(key, 0) + 1
        if kind == "recheck" and verdict == "wrong":
            mine["recheck_disagreed"] = mine.get("recheck_disagreed", 0) + 1
    return [
        ShownRow(tier, model, arm, cost, **counts.get(token, {}))
        for token, tier, model, arm, cost in (await session.execute(answers)).all()
    ]


async def build_report(session: AsyncSession, period: Period, now: datetime) -> QualityReport:
    since = period_start(period, now)
    calls = await read_calls(session, since=since, purpose="serve")
    shown = await load_shown(session, since)
    return QualityReport(period, aggregate(calls, shown), shown)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _seconds(ms: int | None) -> str:
    return "–" if ms is None else f"{ms / 1000:.1f} s"


def tier_text(q: TierQuality, tr: Translator | None = None) -> list[str]:
    """One tier and model's block, in ``tr``'s language (English by default, as the CLI prints it)."""
    tr = tr or translator("en")
    answers = tr.gettext(
        "answers {n}: accepted {accepted}, escalated {escalated} ({rate})",
        n=q.answers, accepted=q.accepted, escalated=q.escalated, rate=_pct(q.escalation_rate),
    )  # fmt: skip
    lines = [
        f"<b>{escape(q.tier)} · {escape(q.model)}</b>",
        answers + (" · " + tr.gettext("errors {n}", n=q.errors) if q.errors else ""),
    ]
    if q.shown:
        disagreed = " " + tr.gettext("({n} disagreed)", n=q.recheck_disagreed) if q.rechecks else ""
        feedback = tr.gettext(
            "shown {n}: 👍 {up} · 👎 {down} · corrections {corrections} · re-checks {rechecks}{disagreed} · "
            "judged wrong {wrong}",
            n=q.shown, up=q.thumbs_up, down=q.thumbs_down, corrections=q.corrections, rechecks=q.rechecks,
            disagreed=disagreed, wrong=_pct(q.wrong_rate),
        )  # fmt: skip
        lines.append(feedback)
    if q.confirmed or q.contradicted:
        plate = tr.gettext(
            "plate fields: confirmed {confirmed}, contradicted {contradicted}",
            confirmed=q.confirmed, contradicted=q.contradicted,
        )  # fmt: skip
        lines.append(plate)
    per = "–" if q.cost_per_accepted is None else format_usd(q.cost_per_accepted)
    lines.append(
        tr.gettext(
            "{cost} per accepted answer · p50 {p50} · p95 {p95}", cost=per, p50=_seconds(q.p50), p95=_seconds(q.p95)
        )
    )
    return lines


def report_text(report: QualityReport, tr: Translator | None = None) -> str:
    """Telegram HTML for /quality, in ``tr``'s language (English by default)."""
    tr = tr or translator("en")
    shown = len(report.shown)
    wrong = sum(s.judged_wrong for s in report.shown)
    judged = tr.gettext("Answers shown: {n} · judged wrong: {wrong}", n=shown, wrong=wrong)
    lines = [
        tr.gettext("<b>🎯 Quality, {period}</b>", period=tr.gettext(PERIOD_LABELS[report.period])),
        judged + (f" ({wrong / shown:.0%})" if shown else ""),
    ]
    if not report.tiers:
        lines.append("\n" + tr.gettext("No model answers in this period."))
    for q in report.tiers:
        lines.append("")
        lines.extend(tier_text(q, tr))
    from bot.quality.canary import arms_text  # canary builds on this module's ShownRow
    from bot.quality.changes import change_lines

    lines.extend(change_lines(report.tiers, tr))
    lines.extend(arms_text(report.shown, tr))
    return "\n".join(lines)


CHART_TITLE = N_("Accuracy by tier and model, {period}")
CHART_CAPTION = N_("Accepted vs judged wrong, {period}")


def chart_png(tiers: Sequence[TierQuality], title: str, tr: Translator | None = None) -> bytes:
    """Per tier and model, side by side: share of answers accepted, and share of shown answers judged wrong.

    Horizontal bars, large type, portrait: it is read on a phone. Agg canvas, no pyplot global state. ``title``
    is the caller's (translated); the legend is in ``tr``'s language.
    """
    buffer = io.BytesIO()
    chart_figure(tiers, title, tr).savefig(buffer, format="png", metadata={"Title": title})
    return buffer.getvalue()


def chart_figure(tiers: Sequence[TierQuality], title: str, tr: Translator | None = None) -> Figure:
    tr = tr or translator("en")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = [f"{q.tier}\n{q.model}" for q in tiers]
    figure = Figure(figsize=(6, 2.0 + 1.1 * max(1, len(tiers))), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(tiers)))
    accepted = [100 * q.accepted / q.answers if q.answers else 0.0 for q in tiers]
    wrong = [100 * (q.wrong_rate or 0.0) for q in tiers]
    axes.barh(
        [p + 0.2 for p in positions], accepted, height=0.38, label=tr.gettext("answers accepted %"), color="#4c9f70"
    )
    axes.barh(
        [p - 0.2 for p in positions], wrong, height=0.38, label=tr.gettext("shown, judged wrong %"), color="#d1495b"
    )
    axes.set_yticks(positions, names, fontsize=12)
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_title(textwrap.fill(title, 42), fontsize=13)  # a translated title may not fit on one line
    axes.tick_params(axis="x", labelsize=11)
    if tiers:
        # under the bars: a title in a longer language wraps upwards and must not run into it
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=1, fontsize=11, frameon=False)
    else:
        axes.text(50, 0, tr.gettext("no answers"), ha="center", va="center", fontsize=14)
    figure.tight_layout()
    return figure
