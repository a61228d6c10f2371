"""The /cost chart, drawn to be read in a Telegram chat bubble on a phone.

A photo in a chat is shown about 330 CSS px wide, so the PNG is drawn 780 px wide with 15 pt type (about
13 px on the phone) and three panels sharing one continuous date axis, idle days included:
cloud spend per day stacked by provider (providers that cost nothing, such as the local model, are left out
of the legend), cost per analysed photo, and the share of photos answered from the cache. The window is at
least a week, so a single day does not become one bar filling the width. ``load`` reads the ledger; ``render``
is pure and headless (Agg canvas, no pyplot global state), and draws titles, labels and dates in the admin's
language (the panel titles are also written into the PNG's metadata, where a test or a screen reader finds them).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from babel.dates import format_skeleton
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_, Translator, translator
from pipeline.models import ModelCall

MIN_DAYS = 7
WIDTH_IN, HEIGHT_IN, DPI = 5.2, 6.8, 150
FONT_PT = 15
# Colour-blind-safe (Okabe–Ito), fixed per provider so a provider keeps its colour from one chart to the next.
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]
TITLE = N_("Cloud spend per day")
NO_SPEND = N_("no cloud spend")
PER_PHOTO = N_("Cost per photo (¢)")
FROM_CACHE = N_("Answered from the cache (%)")


@dataclass
class ChartData:
    days: list[date]
    spend: dict[str, list[int]] = field(default_factory=dict)  # provider -> micro-USD per day, cloud only
    analyses: list[int] = field(default_factory=list)
    cache_hits: list[int] = field(default_factory=list)

    def cost_per_photo(self) -> list[float | None]:
        """Micro-USD per analysed photo per day (cache hits included: they are what the cache saves); None on
        idle days, which are drawn as gaps rather than as a misleading zero."""
        totals = [sum(values[i] for values in self.spend.values()) for i in range(len(self.days))]
        return [t / n if n else None for t, n in zip(totals, self.analyses, strict=True)]

    def hit_rate(self) -> list[float | None]:
        return [h * 100 / n if n else None for h, n in zip(self.cache_hits, self.analyses, strict=True)]


def window(period: str, now: datetime, first: date | None) -> tuple[date, date]:
    """Pure: the days shown, ending today, at least ``MIN_DAYS`` long."""
    today = now.date()
    days = {"today": 1, "7d": 7, "30d": 30}.get(period)
    if days is None:  # all time: from the first day with data
        days = (today - first).days + 1 if first is not None else 1
    return today - timedelta(days=max(days, MIN_DAYS) - 1), today


async def load(session: AsyncSession, period: str, now: datetime) -> ChartData:
    first_seen = await session.scalar(select(func.min(ModelCall.created_at)))
    start, end = window(period, now, first_seen.date() if first_seen is not None else None)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    index = {d: i for i, d in enumerate(days)}
    since = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    day = func.date(ModelCall.created_at)
    data = ChartData(days, analyses=[0] * len(days), cache_hits=[0] * len(days))
    spend = await session.execute(
        select(day, ModelCall.provider, func.sum(ModelCall.cost_micro_usd))
        .where(ModelCall.created_at >= since, ModelCall.tier != "cache")
        .group_by(day, ModelCall.provider)
    )
    for when, provider, total in spend.all():
        i = index.get(date.fromisoformat(str(when)[:10]))
        if i is not None and total:
            data.spend.setdefault(str(provider), [0] * len(days))[i] += int(total)
    hit = case((ModelCall.tier == "cache", ModelCall.request_id))
    counts = await session.execute(
        select(day, func.count(ModelCall.request_id.distinct()), func.count(hit.distinct()))
        .where(ModelCall.created_at >= since)
        .group_by(day)
    )
    for when, analyses, hits in counts.all():
        i = index.get(date.fromisoformat(str(when)[:10]))
        if i is not None:
            data.analyses[i], data.cache_hits[i] = int(analyses), int(hits)
    data.spend = {p: v for p, v in sorted(data.spend.items(), key=lambda kv: -sum(kv[1])) if sum(v) > 0}
    return data


def render(data: ChartData, tr: Translator | None = None) -> bytes:
    """The chart as PNG bytes, its words in ``tr``'s language (English by default)."""
    from matplotlib import dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    tr = tr or translator("en")
    title, per_photo_title, hits_title = tr.gettext(TITLE), tr.gettext(PER_PHOTO), tr.gettext(FROM_CACHE)
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(3, 1, height_ratios=[3, 1.3, 1.3])
    spend = figure.add_subplot(grid[0])
    per_photo = figure.add_subplot(grid[1], sharex=spend)
    hits = figure.add_subplot(grid[2], sharex=spend)
    x = [float(v) for v in mdates.date2num(data.days)]  # type: ignore[no-untyped-call]  # continuous day axis
    width = 0.8 if len(x) <= 31 else 1.0

    bottoms = [0.0] * len(x)
    for i, (provider, values) in enumerate(data.spend.items()):
        dollars = [v / 1_000_000 for v in values]  # display only
        spend.bar(x, dollars, width=width, bottom=bottoms, label=provider, color=COLOURS[i % len(COLOURS)])
        bottoms = [b + v for b, v in zip(bottoms, dollars, strict=True)]
    spend.set_title(title, loc="left", fontsize=FONT_PT + 1, fontweight="bold")
    spend.yaxis.set_major_locator(MaxNLocator(4))
    if data.spend:  # above the bars, in one row: never drawn over them
        spend.legend(
            loc="lower left", bbox_to_anchor=(0, 1.08), ncols=min(3, len(data.spend)), frameon=False,
            fontsize=FONT_PT - 1, handlelength=1.0, columnspacing=1.0, borderaxespad=0,
        )  # fmt: skip
        spend.set_title(title, loc="left", fontsize=FONT_PT + 1, fontweight="bold", pad=3 * FONT_PT)
    else:
        spend.text(
            0.5, 0.5, tr.gettext(NO_SPEND), ha="center", va="center", fontsize=FONT_PT, transform=spend.transAxes
        )
        spend.set_ylim(0, 1)
        spend.set_yticks([0])
    decimals = _decimals(spend.get_ylim()[1])
    spend.yaxis.set_major_formatter(FuncFormatter(lambda v, _: "$0" if v == 0 else f"${v:.{decimals}f}"))

    cents = [None if v is None else v / 10_000 for v in data.cost_per_photo()]
    per_photo.plot(x, [c if c is not None else float("nan") for c in cents], marker="o", color="#333333")
    per_photo.set_title(per_photo_title, loc="left", fontsize=FONT_PT)
    per_photo.set_ylim(bottom=0)
    per_photo.yaxis.set_major_locator(MaxNLocator(3))

    rates = [float("nan") if r is None else r for r in data.hit_rate()]
    hits.plot(x, rates, marker="o", color="#009E73")
    hits.set_title(hits_title, loc="left", fontsize=FONT_PT)
    hits.set_ylim(0, 100)
    hits.set_yticks([0, 50, 100])

    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)  # type: ignore[no-untyped-call]
    hits.xaxis.set_major_locator(locator)
    hits.xaxis.set_major_formatter(
        FuncFormatter(lambda v, _: day_label(mdates.num2date(v).date(), tr))  # type: ignore[no-untyped-call]
    )
    hits.set_xlim(x[0] - 0.6, x[-1] + 0.6)
    for axes in (spend, per_photo, hits):
        axes.tick_params(labelsize=FONT_PT - 1)
        axes.grid(axis="y", alpha=0.3)
        axes.spines[["top", "right"]].set_visible(False)
    for axes in (spend, per_photo):
        axes.tick_params(labelbottom=False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Title": title, "Description": f"{per_photo_title} · {hits_title}"})
    return buffer.getvalue()


def day_label(day: date, tr: Translator) -> str:
    """A short date in the language's own order and month name ("Dec 1", "1 dic", "1. Dez.", "1 de dez.")."""
    return format_skeleton("MMMd", day, locale=tr.code)


def _decimals(top: float) -> int:
    """One number format for the whole axis: enough decimals that its ticks (about top/4 apart) differ."""
    for decimals, step in ((2, 0.2), (3, 0.01), (4, 0.001)):
        if top >= step:
            return decimals
    return 5


def caption(data: ChartData, tr: Translator | None = None) -> str:
    first, last = data.days[0], data.days[-1]
    return (tr or translator("en")).gettext(
        "Cloud spend, cost per photo and cache hits, {first} – {last} (UTC)",
        first=f"{first:%Y-%m-%d}",
        last=f"{last:%Y-%m-%d}",
    )
