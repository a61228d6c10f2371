"""The services the handlers use, built once in ``post_init`` and closed in ``post_shutdown``."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from PIL import Image
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.ext import Application

from bot import i18n
from bot.accounts import quota
from bot.accounts.alerts import Alerter, ConfiguredModel
from bot.accounts.budget import DbSpendingGuard
from bot.accounts.ratelimit import RateLimiter, UserRate
from bot.chat import cards
from bot.chat.status import RateBudget
from bot.quality import canary as quality_canary
from bot.quality.sampling import Sampler, build_sampler
from bot.runtime.db import make_engine, make_sessionmaker, upgrade_async
from bot.runtime.queues import AlbumCollector
from bot.runtime.settings import AppSettings
from bot.updates import ChatOrderedProcessor, UpdateRunner, recover
from bot.updates import inbox as update_inbox
from bot.updates.batch import Batch
from cmmsconnect import DeliveryReport, Outbox, build_connector
from pipeline import Pipeline, PipelineEvent, PriceTable, build_tiers
from pipeline.fingerprint import phash64
from pipeline.service import MAX_PHOTOS
from pipeline.shared import LOCAL, BreakerStore, TierSlots

log = logging.getLogger(__name__)

MAX_CONCURRENT_ANALYSES = 16  # model calls are I/O-bound; this bounds memory and image preparation
INBOX_KEEP = timedelta(days=2)  # Telegram redelivers for at most 24 h

# The languages read while handling the current update (user id → translator): a photo's path asks for the
# user's language five times, and in a crowd each read queued behind everyone's writes. Set per update by
# ``begin_update`` (the gate); a task started by the handler sees the same update's choice.
_UPDATE_LANGUAGES: ContextVar[dict[int, i18n.Translator] | None] = ContextVar("update_languages", default=None)


@dataclass
class Wiring:
    """What a fleet worker (bot/fleet/worker.py) puts where the embedded bot has its own; the rest is the same.
    A worker neither migrates (a deploy step) nor recovers at start (its queue retries a dead worker's jobs)."""

    runner: UpdateRunner
    albums: AlbumCollector
    rate_limiter: RateBudget
    breakers: BreakerStore
    tier_slots: TierSlots
    user_rate: UserRate | None = None  # PHOTOS_PER_MINUTE across the fleet (else per process)


@dataclass
class Services:
    settings: AppSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    pipeline: Pipeline
    outbox: Outbox
    updates: UpdateRunner  # inbox, per-chat order, recovery (bot/updates/)
    albums: AlbumCollector
    known_users: quota.KnownUsers = field(default_factory=quota.KnownUsers)
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(MAX_CONCURRENT_ANALYSES))
    # work-order key → the Telegram status message to edit when the outbox reports on it (lost on restart;
    # a report without one is sent as a new reply to the card)
    wo_status: dict[str, int] = field(default_factory=dict)
    application: Application | None = None  # type: ignore[type-arg]
    guard: DbSpendingGuard | None = None  # daily budgets, asked before each cloud call (bot/accounts/budget.py)
    alerts: Alerter | None = None  # admin alerts, once per condition per day (bot/accounts/alerts.py)
    rate: UserRate = field(default_factory=lambda: RateLimiter(0))  # photos per minute (bot/accounts/ratelimit.py)
    sampler: Sampler | None = None  # the evaluation sample, when EVAL_SAMPLE_RATE > 0 (bot/quality/sampling.py)
    warming: asyncio.Task[None] | None = None  # the plate reader's models, loading after start

    def __post_init__(self) -> None:
        # first contacts and changed profiles of a crowd share transactions (bot/updates/batch.py)
        self.touches: Batch[quota.Touch, None] = Batch(self._write_touches)

    async def _write_touches(self, touches: list[quota.Touch]) -> list[None]:
        async with self.sessions.begin() as session:
            await quota.touch_users(session, touches)
        return [None] * len(touches)

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.settings.bot.admin_user_ids

    async def standing(self, user_id: int) -> quota.Standing:
        async with self.sessions() as session:
            return await quota.standing(
                session,
                user_id=user_id,
                is_admin=self.is_admin(user_id),
                free_limit=self.settings.bot.free_photos,
                now=datetime.now(UTC),
            )

    async def translator(self, user_id: int) -> i18n.Translator:
        """The user's language (bot/i18n): their /language choice, else Telegram's, else English. Read once per
        update (``begin_update``); outside an update, read every time."""
        memo = _UPDATE_LANGUAGES.get()
        if memo is not None and (known := memo.get(user_id)) is not None:
            return known
        async with self.sessions() as session:
            chosen = await i18n.translator_for(session, user_id)
        if memo is not None:
            memo[user_id] = chosen
        return chosen

    @staticmethod
    def begin_update() -> None:
        """A new update is being handled: languages are read afresh (a /language change shows at once)."""
        _UPDATE_LANGUAGES.set({})

    @staticmethod
    def language_changed(user_id: int, translator: i18n.Translator) -> None:
        """/language stored a new choice during this update: the rest of it answers in that language."""
        memo = _UPDATE_LANGUAGES.get()
        if memo is not None:
            memo[user_id] = translator

    async def on_work_order_dead(self, report: DeliveryReport) -> None:
        """A work order could not be filed within CMMS_DEAD_AFTER_HOURS: every admin hears of it, in their language."""
        log.error("work order %s is dead after %d attempts: %s", report.key, report.attempts, report.error)

        def text(tr: i18n.Translator) -> str:
            return tr.ngettext(
                "📮 Work order <b>{title}</b> could not be filed in {cmms} after {n} attempt ({error}). See /outbox "
                "to retry it.",
                "📮 Work order <b>{title}</b> could not be filed in {cmms} after {n} attempts ({error}). See /outbox "
                "to retry it.",
                report.attempts, title=html.escape(report.title), cmms=html.escape(self.settings.cmms.backend),
                n=report.attempts, error=html.escape(report.error) if report.error else tr.gettext("no answer"),
            )  # fmt: skip

        await self.notify_admins(text)

    async def on_pipeline_event(self, event: PipelineEvent) -> None:
        """A broken key or a missing price: the alerter tells the admins once a day (deduped in the database)."""
        if self.alerts is not None:  # built right after Services in build_services
            await self.alerts.on_pipeline_event(event)

    async def notify_admins(self, text: str | Callable[[i18n.Translator], str]) -> None:
        """Every admin gets ``text``; a function of the translator is written in each admin's own language."""
        if self.application is None:
            return
        for admin in self.settings.bot.admin_user_ids:
            try:
                message = text if isinstance(text, str) else text(await self.translator(admin))
                await self.application.bot.send_message(admin, message)
            except Exception:
                log.warning("could not alert admin %s", admin, exc_info=True)


async def build_services(
    settings: AppSettings,
    application: Application,  # type: ignore[type-arg]
    wiring: Wiring | None = None,
) -> Services:
    started_at = datetime.now(UTC)  # updates accepted before this belong to a previous process
    url = settings.bot.database_url
    if wiring is None:
        await upgrade_async(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    names = quality_canary.tier_names(settings.pipeline)  # CASCADE's tiers and any more CANARY_CASCADE names
    tiers = build_tiers(settings.pipeline, names)
    prices = PriceTable.load(settings.pipeline.prices_path)
    services: Services
    pipeline = Pipeline(
        settings.pipeline, sessions, tiers, prices, on_event=lambda e: services.on_pipeline_event(e),
        breakers=wiring.breakers if wiring else LOCAL, slots=wiring.tier_slots if wiring else LOCAL,
    )  # fmt: skip
    await pipeline.start()
    # The first photo after a start must not pay for loading what every photo uses: the pHash's DCT (a lazy
    # import of scipy.fft, 0.15-0.4 s, measured as the ack time of the first ten photos) now, and the plate
    # reader's models (~2 s) in the background, so the bot is polling meanwhile.
    await asyncio.to_thread(phash64, Image.new("L", (32, 32)))
    warming = asyncio.create_task(asyncio.to_thread(pipeline.reader.warm_up)) if pipeline.reader else None
    purged = await cards.purge(sessions, datetime.now(UTC))
    if purged:
        log.info("forgot %d analysis cards older than %s", purged, cards.KEEP)
    outbox = Outbox(
        sessions,
        build_connector(settings.cmms, sessions),
        settings.cmms,
        on_dead=lambda report: services.on_work_order_dead(report),
    )
    services = Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        pipeline=pipeline,
        outbox=outbox,
        updates=wiring.runner if wiring else _runner(application, sessions),
        albums=wiring.albums if wiring else AlbumCollector(wait_s=settings.bot.album_wait_s, max_photos=MAX_PHOTOS),
        application=application,
        rate=(wiring.user_rate if wiring else None) or RateLimiter(settings.bot.photos_per_minute),
        warming=warming,
    )
    steps = pipeline.cascade.steps
    services.alerts = Alerter(
        sessions,
        settings.bot,
        prices,
        services.notify_admins,
        expensive_tier=steps[-1].tier if len(steps) > 1 else None,
        models=[ConfiguredModel(name, tier.model, tier.is_local) for name, tier in tiers.items()],
    )
    # a reservation outlives any request (REQUEST_TIMEOUT_S) before it counts as crashed and expires
    ttl = timedelta(seconds=settings.pipeline.request_timeout_s + 60)
    services.guard = DbSpendingGuard(sessions, settings.bot, ttl=ttl, on_settled=services.alerts.check_spend)
    services.sampler = build_sampler(settings, services, prices)
    if wiring is not None:  # purges are the fleet's periodic tasks; recovery is its queue's (bot/fleet/tasks.py)
        log.info("services ready (fleet worker): tiers %s", ", ".join(tiers) or "none")
        return services
    async with sessions.begin() as session:
        await update_inbox.purge(session, finished_before=started_at - INBOX_KEEP)
    await recover(
        sessions, services.updates, application.bot, started_at=started_at,
        release_budget=services.guard.release_interrupted,
    )  # fmt: skip
    log.info("services ready: tiers %s, database %s", ", ".join(tiers) or "none", engine.url.render_as_string())
    return services


def _runner(application: Application, sessions: async_sessionmaker[AsyncSession]) -> UpdateRunner:  # type: ignore[type-arg]
    processor = application.update_processor
    assert isinstance(processor, ChatOrderedProcessor), "build_application installs it"
    processor.bind(sessions, application.update_queue.put)
    return processor


async def close_services(services: Services) -> None:
    if services.warming is not None:
        with contextlib.suppress(Exception):  # a reader that failed to load says so on its first photo
            await services.warming
    if services.sampler is not None:
        await services.sampler.aclose()
    await services.pipeline.aclose()
    await services.outbox.aclose()
    await services.engine.dispose()
