"""The worker's tasks: updates and albums (ordered per chat), and the periodic work, each run once per period
across the whole fleet (Procrastinate defers one job per tick whichever worker's scheduler gets there first, and
a ``queueing_lock`` keeps a slow tick from piling up behind itself).

| task                  | when                    | what                                                     |
| --------------------- | ----------------------- | -------------------------------------------------------- |
| ``plc.update``        | deferred by the ingress | one update through the handlers (``FleetRunner.run``)    |
| ``plc.album``         | deferred by the ingress | an album's items from the inbox, then the first one runs |
| ``plc.outbox``        | every ``OUTBOX_POLL_S`` | work orders due for delivery                             |
| ``plc.alerts``        | every 5 min             | admin alerts (deduplicated per day in the database)      |
| ``plc.purge``         | hourly                  | finished inbox rows past any redelivery, old cards, jobs |
| ``plc.retry_stalled`` | every 5 s               | jobs of a worker that stopped beating: run again         |
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

import procrastinate
from procrastinate import JobContext
from telegram.ext import Application

from bot.chat import cards, workorders
from bot.fleet import queue as jobs
from bot.fleet.albums import CollectedAlbums, group_of, photo_ref, quiet_for
from bot.fleet.runner import FleetRunner, pending_rows
from bot.fleet.shared import purge_user_buckets
from bot.runtime.services import INBOX_KEEP, Services
from bot.updates import inbox

log = logging.getLogger(__name__)

JOBS_KEEP = timedelta(days=2)
# An update job fails only when the database does (handler errors go to the bot's error handler): once more,
# a little later; the run then resumes the update as after a crash (FleetRunner.run, retried=True).
RETRY = procrastinate.RetryStrategy(max_attempts=1, wait=5)


@dataclass
class Worker:
    """What the tasks need; ``services`` once the application's ``post_init`` has built them."""

    queue: procrastinate.App
    application: Application  # type: ignore[type-arg]
    runner: FleetRunner
    albums: CollectedAlbums
    album_wait_s: float
    stalled_after_s: float
    outbox_poll_s: float = 10.0

    @property
    def services(self) -> Services:
        return cast(Services, self.application.bot_data["services"])


def register(worker: Worker) -> None:
    queue = worker.queue

    @queue.task(name=jobs.UPDATE_TASK, pass_context=True, retry=RETRY)
    async def update(context: JobContext, update_id: int) -> None:
        await worker.runner.run(worker.application, update_id, retried=_retried(context))

    @queue.task(name=jobs.ALBUM_TASK, pass_context=True, retry=RETRY)
    async def album(context: JobContext, chat_id: int, group_id: str) -> None:
        await collect_album(worker, chat_id, group_id, retried=_retried(context))

    @queue.periodic(cron=every(worker.outbox_poll_s), periodic_id="outbox")
    @queue.task(name="plc.outbox", queueing_lock="plc.outbox")
    async def outbox(timestamp: int) -> None:
        await workorders.deliver(worker.services, worker.application.bot)

    @queue.periodic(cron="*/5 * * * *", periodic_id="alerts")
    @queue.task(name="plc.alerts", queueing_lock="plc.alerts")
    async def alerts(timestamp: int) -> None:
        if worker.services.alerts is not None:
            await worker.services.alerts.check_all()

    @queue.periodic(cron="17 * * * *", periodic_id="purge")
    @queue.task(name="plc.purge", queueing_lock="plc.purge")
    async def purge(timestamp: int) -> None:
        now = datetime.now(UTC)
        services = worker.services
        async with services.sessions.begin() as session:
            forgotten = await inbox.purge(session, finished_before=now - INBOX_KEEP)
        old_cards = await cards.purge(services.sessions, now)
        buckets = await purge_user_buckets(services.sessions)
        await queue.job_manager.delete_old_jobs(nb_hours=int(JOBS_KEEP.total_seconds() // 3600))
        log.info("purged %d inbox rows, %d cards, %d idle users' rate buckets", forgotten, old_cards, buckets)

    @queue.periodic(cron="* * * * * */5", periodic_id="stalled")
    @queue.task(name="plc.retry_stalled", queueing_lock="plc.retry_stalled")
    async def retry_stalled(timestamp: int) -> None:
        await retry_stalled_jobs(queue, worker.stalled_after_s)


def every(seconds: float) -> str:
    """Cron (with Procrastinate's sixth, seconds column) for about every ``seconds``: seconds below a minute,
    whole minutes below an hour, else hourly."""
    whole = max(1, round(seconds))
    if whole < 60:
        return f"* * * * * */{whole}"
    if whole < 3600:
        return f"*/{whole // 60} * * * *"
    return "0 * * * *"


def _retried(context: JobContext) -> bool:
    """The job ran before (its worker died mid-way and ``retry_stalled`` put it back)."""
    return context.job is not None and context.job.attempts > 0


async def retry_stalled_jobs(queue: procrastinate.App, stalled_after_s: float) -> int:
    stalled = list(await queue.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after_s))
    for job in stalled:
        assert job.id is not None
        log.warning("job %s (%s) was running on a worker that stopped; running it again", job.id, job.task_name)
        await queue.job_manager.retry_job_by_id_async(job.id, retry_at=datetime.now(UTC))
    return len(stalled)


async def collect_album(worker: Worker, chat_id: int, group_id: str, *, retried: bool) -> None:
    sessions = worker.services.sessions
    rows = [row for row in await pending_rows(sessions, chat_id) if group_of(row) == group_id]
    if not rows:
        return
    wait = quiet_for(rows, worker.album_wait_s, datetime.now(UTC))
    if wait > 0:  # an item came in the last album_wait_s: more may follow
        async with sessions.begin() as session:
            await jobs.defer_album(worker.queue, session, chat_id, group_id, wait_s=wait)
        return
    first, rest = rows[0], rows[1:]
    items = [ref for row in rest if (ref := photo_ref(dict(row.payload))) is not None]
    worker.albums.collected(chat_id, group_id, items)
    await worker.runner.run(
        worker.application, first.update_id, retried=retried, done_with=tuple(row.update_id for row in rest)
    )
