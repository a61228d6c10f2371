"""``plc-copilot worker``: a Procrastinate worker running the fleet's jobs through the bot's own handlers.

The python-telegram-bot ``Application`` is the embedded bot's, built without an updater (updates come as jobs)
or a job queue (periodic work is Procrastinate's, once per period fleet-wide); only the wiring differs
(``Wiring``): the ``FleetRunner``, albums collected from the inbox, Telegram's rate and the tiers' breakers and
call slots shared through PostgreSQL. Its ``post_init`` builds the same services as ``plc-copilot run``.

A worker does not migrate (``plc-copilot migrate`` is the deploy step) and refuses to start on a database that
is not at the latest revision. SIGINT/SIGTERM stop it gracefully: jobs in progress finish first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.fleet import queue as jobs
from bot.fleet.albums import CollectedAlbums
from bot.fleet.nearsync import IndexSync
from bot.fleet.runner import FleetRunner
from bot.fleet.shared import PgBreakers, PgTierSlots, SharedRate, SharedUserRate, TokenBucket
from bot.fleet.tasks import Worker, register
from bot.runtime.db import make_engine, make_sessionmaker
from bot.runtime.services import Services, Wiring
from bot.runtime.settings import AppSettings
from pipeline.service import MAX_PHOTOS

log = logging.getLogger(__name__)


async def run_worker(settings: AppSettings, *, name: str) -> int:
    from bot.runtime.app import build_application

    url = settings.bot.database_url
    fleet = settings.bot
    state_engine = make_engine(url)  # shared state: short statements on their own small pool
    state = make_sessionmaker(state_engine)
    breakers = PgBreakers(state)
    cleared = await breakers.clear_admin_problems()
    if cleared:
        log.info("cleared %d tier problems left by the previous deploy", cleared)
    queue = jobs.make_queue(url, pool_size=fleet.worker_concurrency + 2)
    runner = FleetRunner(queue)
    albums = CollectedAlbums(max_photos=MAX_PHOTOS)
    rate = SharedRate(
        TokenBucket(state, "telegram", rate=fleet.telegram_rate_limit, burst=fleet.telegram_rate_limit),
        messages_per_s=fleet.telegram_rate_limit,
    )
    slots = PgTierSlots(state, per_tier=fleet.tier_max_concurrent, lease_s=settings.pipeline.request_timeout_s + 60)
    wiring = Wiring(
        runner=runner, albums=albums, rate_limiter=rate, breakers=breakers, tier_slots=slots,
        user_rate=SharedUserRate(state, fleet.photos_per_minute),
    )  # fmt: skip
    application = build_application(settings, wiring=wiring)
    worker = Worker(
        queue, application, runner, albums, fleet.album_wait_s, fleet.fleet_stalled_after_s, fleet.outbox_poll_s
    )
    register(worker)
    try:
        async with application:
            assert application.post_init is not None
            await application.post_init(application)  # the services, as run_polling would build them
            services: Services = application.bot_data["services"]
            runner.bind(services.sessions)
            sync = IndexSync(jobs.conninfo(url), services.pipeline.cache)
            syncing = asyncio.create_task(sync.run())
            await application.start()
            try:
                async with queue.open_async():
                    log.info("worker %s ready: %d jobs at a time", name, fleet.worker_concurrency)
                    await queue.run_worker_async(
                        name=name,
                        concurrency=fleet.worker_concurrency,
                        update_heartbeat_interval=max(1.0, fleet.fleet_stalled_after_s / 3),
                        stalled_worker_timeout=fleet.fleet_stalled_after_s,
                        delete_jobs="never",  # kept for the record; plc.purge deletes them after JOBS_KEEP,
                        install_signal_handlers=True,
                    )
            finally:
                syncing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await syncing
                await application.stop()
                if application.post_shutdown is not None:
                    await application.post_shutdown(application)
    finally:
        await state_engine.dispose()
    return 0
