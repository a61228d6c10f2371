"""``plc-copilot web``'s request handling, through real HTTP semantics (httpx's ASGI transport) on PostgreSQL:
the secret, the inbox row and its job in one transaction, redeliveries, albums, and a 503 that makes Telegram
retry when the database fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.fleet import ingress
from bot.fleet import queue as jobs
from bot.fleet.ingress import SECRET_HEADER, WEBHOOK_PATH, build_ingress
from bot.runtime.db import make_engine, make_sessionmaker
from tests.conftest import make_photo
from tests.fakes.http import free_port
from tests.fakes.telegram import FakeTelegram

SECRET = "s3cret-Token_1"


@pytest.fixture
def telegram() -> FakeTelegram:
    return FakeTelegram()  # not started: only its update builders are used


@pytest.fixture
async def client(pg_url: str, pg_sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx.AsyncClient]:
    queue = jobs.make_queue(pg_url, pool_size=1)
    app = build_ingress(pg_sessions, queue, secret=SECRET, album_wait_s=1.5)
    async with (
        queue.open_async(),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingress") as http,
    ):
        yield http


async def post(client: httpx.AsyncClient, update: dict[str, Any], secret: str | None = SECRET) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    response = await client.post(WEBHOOK_PATH, json=update, headers=headers)
    return response.status_code


async def rows(sessions: async_sessionmaker[AsyncSession], query: str) -> list[Any]:
    async with sessions() as session:
        return list((await session.execute(text(query))).all())


async def test_an_update_is_recorded_and_its_job_deferred_with_its_chats_lock(
    client: httpx.AsyncClient, pg_sessions: async_sessionmaker[AsyncSession], telegram: FakeTelegram
) -> None:
    update = telegram.send_command(42, "/help")
    assert await post(client, update) == 200
    assert await rows(pg_sessions, "SELECT update_id, chat_id, done FROM update_inbox") == [
        (update["update_id"], 42, False)
    ]
    found = await rows(pg_sessions, "SELECT task_name, lock, args FROM procrastinate_jobs")
    assert found == [(jobs.UPDATE_TASK, "chat:42", {"update_id": update["update_id"]})]


async def test_a_redelivered_update_is_answered_200_and_not_deferred_twice(
    client: httpx.AsyncClient, pg_sessions: async_sessionmaker[AsyncSession], telegram: FakeTelegram
) -> None:
    update = telegram.send_text(42, "hello")
    assert await post(client, update) == 200
    assert await post(client, update) == 200, "a non-2xx would make Telegram resend it for ever"
    assert len(await rows(pg_sessions, "SELECT id FROM procrastinate_jobs")) == 1


@pytest.mark.parametrize("secret", [None, "wrong", SECRET + "x", ""])
async def test_a_request_without_the_secret_is_refused_and_nothing_recorded(
    client: httpx.AsyncClient, pg_sessions: async_sessionmaker[AsyncSession], telegram: FakeTelegram, secret: str | None
) -> None:
    assert await post(client, telegram.send_text(42, "forged"), secret) == 403
    assert await rows(pg_sessions, "SELECT update_id FROM update_inbox") == []


async def test_a_body_that_is_no_update_is_refused_with_400(client: httpx.AsyncClient) -> None:
    response = await client.post(WEBHOOK_PATH, content=b"not json", headers={SECRET_HEADER: SECRET})
    assert response.status_code == 400
    assert await post(client, {"message": {}}) == 400


async def test_an_albums_items_are_recorded_and_one_collection_is_deferred(
    client: httpx.AsyncClient, pg_sessions: async_sessionmaker[AsyncSession], telegram: FakeTelegram
) -> None:
    items = [telegram.send_photo(42, make_photo(i), media_group_id="G1") for i in range(3)]
    for item in items:
        assert await post(client, item) == 200
    assert len(await rows(pg_sessions, "SELECT update_id FROM update_inbox")) == 3
    found = await rows(
        pg_sessions, "SELECT task_name, lock, queueing_lock, scheduled_at IS NOT NULL FROM procrastinate_jobs"
    )
    assert found == [(jobs.ALBUM_TASK, "chat:42", "album:42:G1", True)]


async def test_when_the_database_fails_the_answer_is_503_so_telegram_retries(
    pg_url: str, telegram: FakeTelegram
) -> None:
    engine = make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")
    app = build_ingress(make_sessionmaker(engine), jobs.make_queue(pg_url), secret=SECRET, album_wait_s=1.5)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingress") as http:
        assert await post(http, telegram.send_text(42, "hi")) == 503
    await engine.dispose()


async def test_when_deferring_fails_the_update_is_not_kept_either(
    client: httpx.AsyncClient,
    pg_sessions: async_sessionmaker[AsyncSession],
    telegram: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One transaction: an inbox row without its job would make Telegram's retry look like a duplicate and the
    update would never run."""

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("queue unavailable")

    update = telegram.send_text(42, "hi")
    monkeypatch.setattr(ingress.jobs, "defer_update", broken)
    assert await post(client, update) == 503
    assert await rows(pg_sessions, "SELECT update_id FROM update_inbox") == []
    monkeypatch.undo()
    assert await post(client, update) == 200, "Telegram's retry is taken as new"
    assert len(await rows(pg_sessions, "SELECT id FROM procrastinate_jobs")) == 1
