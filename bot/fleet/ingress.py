"""``plc-copilot web``: where Telegram's webhook requests enter the fleet.

One POST per update. The request is checked (Telegram's ``X-Telegram-Bot-Api-Secret-Token``, compared in
constant time), the update is recorded in the inbox and its job deferred in ONE transaction, and the answer is
200 — within milliseconds, nothing is analysed here. Telegram sends a chat's next update only after a 2xx for
the previous one, so the 200 goes out only after the commit: if the database fails the answer is 503 and
Telegram retries, and a crash between commit and answer only causes a redelivery, which the inbox recognises
(200, no second job). Album items are recorded one by one; the album's first item defers one collection job.

Like python-telegram-bot's own custom-webhook example (Starlette + uvicorn), minus the in-memory queue that
answers before anything is kept.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import procrastinate
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update

from bot.fleet import queue as jobs
from bot.updates import inbox
from bot.updates.processor import chat_key, kind_of

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/telegram"
MAX_BODY = 1024 * 1024  # an update is a few kB; Telegram never sends files in it


def build_ingress(
    sessions: async_sessionmaker[AsyncSession],
    queue: procrastinate.App,
    *,
    secret: str,
    album_wait_s: float,
    on_shutdown: Any = None,
) -> Starlette:
    expected = secret.encode()

    async def telegram(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return PlainTextResponse("forbidden", status_code=403)
        body = await request.body()
        if len(body) > MAX_BODY:
            return PlainTextResponse("too large", status_code=413)
        try:
            payload = _parse(body)
        except ValueError as exc:
            log.warning("webhook body refused: %s", exc)
            return PlainTextResponse("bad update", status_code=400)  # Telegram would resend it forever on 5xx
        try:
            fresh = await accept(sessions, queue, payload, album_wait_s=album_wait_s)
        except Exception:
            log.exception("could not record update %s; Telegram will retry", payload.get("update_id"))
            return PlainTextResponse("unavailable", status_code=503)
        if not fresh:
            log.info("update %s was delivered before; not deferred again", payload["update_id"])
        return Response(status_code=200)

    async def health(request: Request) -> Response:
        try:
            async with sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception:
            return PlainTextResponse("database unreachable", status_code=503)
        return PlainTextResponse("ok")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with queue.open_async():
            yield
        if on_shutdown is not None:
            await on_shutdown()

    return Starlette(
        routes=[Route(WEBHOOK_PATH, telegram, methods=["POST"]), Route("/healthz", health, methods=["GET"])],
        lifespan=lifespan,
    )


def _parse(body: bytes) -> dict[str, Any]:
    import json

    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise ValueError("not JSON") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
        raise ValueError("no update_id")
    return payload


async def accept(
    sessions: async_sessionmaker[AsyncSession],
    queue: procrastinate.App,
    payload: dict[str, Any],
    *,
    album_wait_s: float,
    now: datetime | None = None,
) -> bool:
    """Record the update and defer its job in one transaction; False for a redelivery (nothing deferred)."""
    update = Update.de_json(payload, None)
    key = chat_key(update)
    message = update.message
    async with sessions.begin() as session:
        fresh = await inbox.accept(
            session,
            update_id=update.update_id,
            chat_id=key,
            kind=kind_of(update),
            payload=payload,
            now=now or datetime.now(UTC),
        )
        if not fresh:
            return False
        if message is not None and message.media_group_id and key is not None:
            await jobs.defer_album(queue, session, key, message.media_group_id, wait_s=album_wait_s)
        else:
            await jobs.defer_update(queue, session, update.update_id, key)
    return True
