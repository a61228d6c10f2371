"""The fleet's job queue: a Procrastinate ``App`` on the bot's own PostgreSQL database, and how jobs are deferred.

Two kinds of job carry updates, both with ``lock="chat:<id>"`` so one chat's jobs run one at a time, in the
order they were deferred, on whichever worker takes them (Procrastinate will not start a job while an earlier
job with the same lock waits or runs):

* ``update(update_id)``: one Telegram update, already in the inbox (the ingress wrote it in the same
  transaction as the job);
* ``album(chat_id, group_id)``: every item of one album, collected from the inbox rows once none has arrived
  for ``ALBUM_WAIT_S``; at most one waits per album (``queueing_lock``), later items find it queued.

The ingress defers; the worker (``bot/fleet/worker.py``) registers the task functions under the same names.
"""

from __future__ import annotations

from typing import Any

import procrastinate
from procrastinate import exceptions as queue_errors
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

UPDATE_TASK = "plc.update"
ALBUM_TASK = "plc.album"


def conninfo(database_url: str) -> str:
    """libpq's form of ``DATABASE_URL`` (Procrastinate's pool speaks psycopg directly)."""
    url = make_url(
        "postgresql" + database_url.removeprefix("postgres") if database_url.startswith("postgres://") else database_url
    )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def make_queue(database_url: str, *, pool_size: int = 4) -> procrastinate.App:
    """The App; open it (``open_async``) before deferring or running a worker.

    ``prepare_threshold=None``: no server-side prepared statements, so the pool also works behind PgBouncer in
    transaction mode (README, deployment guide). Procrastinate's LISTEN uses its own direct connection.
    """
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(database_url),
        min_size=1,
        max_size=pool_size,
        kwargs={"prepare_threshold": None},
    )
    return procrastinate.App(connector=connector)


def chat_lock(chat_key: int) -> str:
    return f"chat:{chat_key}"


async def _driver_connection(session: AsyncSession) -> Any:
    """The psycopg connection under the session's transaction: a job deferred on it commits with our rows."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def defer_update(queue: procrastinate.App, session: AsyncSession, update_id: int, chat_key: int | None) -> None:
    connection = await _driver_connection(session)
    lock = chat_lock(chat_key) if chat_key is not None else None
    await queue.configure_task(UPDATE_TASK, lock=lock, connection=connection).defer_async(update_id=update_id)


async def defer_album(
    queue: procrastinate.App, session: AsyncSession, chat_id: int, group_id: str, *, wait_s: float
) -> bool:
    """Queue the album's collection unless one is already waiting; False when one was (nothing to do)."""
    connection = await _driver_connection(session)
    try:
        # a savepoint, so a refused duplicate does not abort the caller's transaction (PostgreSQL would then turn
        # its COMMIT into a silent ROLLBACK); psycopg's own, since SQLAlchemy's begin_nested() only emits it
        # when SQLAlchemy next uses the connection, which it does not here
        async with connection.transaction():
            await queue.configure_task(
                ALBUM_TASK,
                lock=chat_lock(chat_id),
                queueing_lock=f"album:{chat_id}:{group_id}",
                schedule_in={"seconds": wait_s},
                connection=connection,
            ).defer_async(chat_id=chat_id, group_id=group_id)
    except queue_errors.AlreadyEnqueued:
        return False
    return True
