"""Alerts to admins: what is worth a Telegram message, and sending each at most once per condition per UTC day.

The rules are pure (values in, alerts out) and table-tested. The dedupe lives in the database (``admin_alerts``,
key = condition + detail + day, claimed with one INSERT … ON CONFLICT DO NOTHING), so a restart, a second
process or two photos finishing together cannot send the same alert twice. Conditions:

* the day's cloud spend is above the alert level (``BUDGET_ALERT_USD`` or ``/budget alert``);
* the cache answered fewer than 20 % of the last 100 analyses (judged once there are at least 20);
* the most expensive tier (the last of the cascade) was called in more than 30 % of them;
* a provider rejected its key (401/403), reported by the pipeline as it happens;
* a configured cloud model has no price, or is past its shutdown date.

An ``Alert`` carries its English text (marked for the catalogue) and the values to fill in, not a finished
sentence: each admin reads it in their own language (``Alert.text(tr)``, called once per admin).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts import budget, forecast
from bot.i18n import N_, Translator, translator
from bot.runtime.models import AdminAlert
from bot.runtime.settings import BotSettings
from pipeline import PipelineEvent, PriceTable, format_usd
from pipeline.models import ModelCall, upsert_insert

log = logging.getLogger(__name__)

WINDOW = 100  # analyses looked at for the rates
MIN_SAMPLES = 20  # fewer analyses say nothing about a rate
MIN_HIT_PERCENT = 20
MAX_EXPENSIVE_PERCENT = 30


# Admins are told with a function of their translator: each reads the alert in their own language.
Notify = Callable[[Callable[[Translator], str]], Awaitable[None]]


@dataclass(frozen=True)
class Alert:
    key: str  # condition:detail (the day is added when it is claimed)
    message: str  # the English text, marked with N_; ``{name}`` placeholders filled from ``values``
    values: Mapping[str, object] = field(default_factory=dict)  # HTML-escaped where they came from outside
    words: Callable[[Translator], str] | None = None  # a text too varied for one template (the spend spike)

    def text(self, tr: Translator | None = None) -> str:
        """The alert in ``tr``'s language (English by default)."""
        tr = tr or translator("en")
        return self.words(tr) if self.words is not None else tr.gettext(self.message, **self.values)


SPEND = N_("💸 Today's cloud spend is {spent}, above the alert level {level}.")
CACHE_RATE = N_(
    "♻️ The cache answered only {rate} % of the last {n} analyses (alert below {limit} %): most photos are new, "
    "so most cost money."
)
EXPENSIVE = N_(
    "📈 The most expensive tier, <b>{tier}</b>, was needed for {share} % of the last {n} analyses (alert above "
    "{limit} %). The cheaper tiers' thresholds in CASCADE may be too strict, or their answers poor."
)
SHUT_DOWN = N_(
    "🪦 Model <b>{model}</b> ({tier}) was shut down by its provider on {date}; its calls will fail. Configure a "
    "replacement."
)
KEY_REJECTED = N_(
    "🔑 The API key for <b>{tier}</b> was rejected ({detail}). The tier is skipped until the key is fixed."
)
MODEL_MISSING = N_(
    "🪦 The provider of <b>{tier}</b> does not know its model ({detail}): retired, renamed or not enabled for this "
    "key. The tier is skipped for an hour; set a current model (plc-copilot doctor lists them)."
)
PRICE_MISSING = N_("💲 No price for model <b>{detail}</b> ({tier}); the tier is skipped until the price table has it.")


@dataclass(frozen=True)
class RecentWindow:
    """The last ``WINDOW`` analyses: how many, how many the cache answered, how many called the expensive tier."""

    analyses: int
    cache_hits: int
    expensive: int


@dataclass(frozen=True)
class ConfiguredModel:
    tier: str
    model: str
    is_local: bool


def spend_alert(spent: int, level: int | None) -> Alert | None:
    if level is None or spent <= level:
        return None
    return Alert("spend", SPEND, {"spent": format_usd(spent), "level": format_usd(level)})


def cache_alert(window: RecentWindow) -> Alert | None:
    if window.analyses < MIN_SAMPLES or window.cache_hits * 100 >= MIN_HIT_PERCENT * window.analyses:
        return None
    rate = window.cache_hits * 100 // window.analyses
    return Alert("cache_rate", CACHE_RATE, {"rate": rate, "n": window.analyses, "limit": MIN_HIT_PERCENT})


def expensive_alert(window: RecentWindow, tier: str | None) -> Alert | None:
    if tier is None or window.analyses < MIN_SAMPLES:
        return None
    if window.expensive * 100 <= MAX_EXPENSIVE_PERCENT * window.analyses:
        return None
    share = window.expensive * 100 // window.analyses
    values = {"tier": html.escape(tier), "share": share, "n": window.analyses, "limit": MAX_EXPENSIVE_PERCENT}
    return Alert(f"expensive:{tier}", EXPENSIVE, values)


def model_alerts(models: Sequence[ConfiguredModel], prices: PriceTable, today: date) -> list[Alert]:
    alerts = []
    for m in models:
        if m.is_local:
            continue
        price = prices.lookup(m.model, today)
        if price is None:
            alerts.append(event_alert(PipelineEvent("price_missing", m.tier, m.model)))
        elif price.shutdown is not None and price.shutdown < today:
            values = {"model": html.escape(m.model), "tier": html.escape(m.tier), "date": price.shutdown.isoformat()}
            alerts.append(Alert(f"shutdown:{m.tier}:{m.model}", SHUT_DOWN, values))
    return alerts


def event_alert(event: PipelineEvent) -> Alert:
    message = {"key_rejected": KEY_REJECTED, "model_missing": MODEL_MISSING}.get(event.kind, PRICE_MISSING)
    values = {"tier": html.escape(event.tier), "detail": html.escape(event.detail)}
    return Alert(f"{event.kind}:{event.tier}:{event.detail}", message, values)


async def recent_window(session: AsyncSession, expensive_tier: str | None, size: int = WINDOW) -> RecentWindow:
    recent = (
        select(ModelCall.request_id, func.max(ModelCall.id).label("last"))
        .group_by(ModelCall.request_id)
        .order_by(func.max(ModelCall.id).desc())
        .limit(size)
        .subquery()
    )
    called_expensive = and_(ModelCall.tier == (expensive_tier or ""), ModelCall.outcome.not_like("skipped%"))
    per_request = (
        select(
            func.max(case((ModelCall.tier == "cache", 1), else_=0)).label("hit"),
            func.max(case((called_expensive, 1), else_=0)).label("expensive"),
        )
        .join(recent, recent.c.request_id == ModelCall.request_id)
        .group_by(ModelCall.request_id)
        .subquery()
    )
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(per_request.c.hit), 0),
                func.coalesce(func.sum(per_request.c.expensive), 0),
            )
        )
    ).one()
    return RecentWindow(int(row[0]), int(row[1]), int(row[2]))


class Alerter:
    """Evaluates the rules against the database and sends what is due, once a day each."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: BotSettings,
        prices: PriceTable,
        notify: Notify,
        *,
        expensive_tier: str | None,
        models: Sequence[ConfiguredModel],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._prices = prices
        self._notify = notify
        self._expensive_tier = expensive_tier
        self._models = list(models)
        self._now = now

    async def send_once(self, alert: Alert) -> bool:
        """Claim ``alert`` for today; send it only when this call made the claim."""
        now = self._now()
        key = f"{alert.key}:{now.date().isoformat()}"[:160]
        async with self._sessions.begin() as session:
            insert = upsert_insert(session)
            # RETURNING, not rowcount: psycopg 3 reports −1 for ON CONFLICT DO NOTHING (SQLAlchemy issue 10696)
            claim = insert(AdminAlert).values(key=key, sent_at=now).on_conflict_do_nothing().returning(AdminAlert.key)
            claimed = (await session.execute(claim)).first() is not None
        if claimed:
            log.warning("admin alert %s", key)
            await self._notify(alert.text)  # rendered per admin, in their language
        return claimed

    async def on_pipeline_event(self, event: PipelineEvent) -> None:
        await self.send_once(event_alert(event))

    async def check_spend(self) -> None:
        today = self._now().date()
        async with self._sessions() as session:
            # the ledger is written after the whole cascade; the settled reservations already know this call
            spent = max(await budget.ledger_spend(session, today), await budget.settled_spend(session, today))
            caps = await budget.load_caps(session, self._settings)
        alert = spend_alert(spent, caps.alert)
        if alert is not None:
            await self.send_once(alert)

    async def check_all(self) -> None:
        """Every rule; run by a repeating job and cheap enough to run after each analysis."""
        await self.check_spend()
        async with self._sessions() as session:
            window = await recent_window(session, self._expensive_tier)
        due = [cache_alert(window), expensive_alert(window, self._expensive_tier)]
        due += model_alerts(self._models, self._prices, self._now().date())
        async with self._sessions() as session:  # yesterday's spend against the trailing projection
            hot = await forecast.yesterday_spike(session, self._now().date())
        due.append(Alert("spend_spike", "", words=partial(forecast.spike_text, hot)) if hot is not None else None)
        for alert in due:
            if alert is not None:
                await self.send_once(alert)
