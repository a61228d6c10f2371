"""End-to-end harness: the real PTB Application, polling a fake Bot API, analysing through fake providers.

The start/stop sequence mirrors ``Application.run_polling`` (initialize → post_init → start polling → start;
then the reverse, ending with post_shutdown), so the test exercises the same wiring as production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application

from bot.runtime.app import build_application
from bot.runtime.services import Services
from bot.runtime.settings import AppSettings, BotSettings
from cmmsconnect.settings import CmmsSettings
from tests.fakes.providers import FakeProviders
from tests.fakes.telegram import FakeTelegram

TOKEN = "123456:AAH-fake-token-for-tests-0123456789ab"
ADMIN = 1000
ANN, BOB = 42, 43


@pytest.fixture
def providers() -> Iterator[FakeProviders]:
    with FakeProviders() as fake:
        yield fake


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN) as fake:
        yield fake


@dataclass
class Bot:
    telegram: FakeTelegram
    providers: FakeProviders
    app: Application  # type: ignore[type-arg]
    settings: AppSettings

    async def restart(self) -> None:
        """Stop this Application as run_polling would on SIGINT (the next ``start_bot`` is the new process)."""
        assert self.app.updater is not None
        await self.app.updater.stop()
        await self.app.stop()
        await self.app.shutdown()
        assert self.app.post_shutdown is not None
        await self.app.post_shutdown(self.app)

    @property
    def services(self) -> Services:
        services: Services = self.app.bot_data["services"]
        return services

    async def last_text(self, chat_id: int, predicate: Callable[[str], bool], timeout: float = 10.0) -> str:  # noqa: ASYNC109
        """Wait until the chat's newest bot message satisfies ``predicate``; return its plain text."""

        def check() -> str | None:
            last = self.telegram.last_message(chat_id)
            text = last.plain if last is not None else None
            return text if text is not None and predicate(text) else None

        result: str = await self.telegram.wait_for(check, timeout=timeout)
        return result


BotFactory = Callable[..., "AsyncIterator[Bot]"]


def make_settings(telegram: FakeTelegram, providers: FakeProviders, db_url: str, **overrides: Any) -> AppSettings:
    bot_fields = {k: overrides.pop(k) for k in list(overrides) if k in BotSettings.model_fields}
    cmms_fields = {k.removeprefix("cmms_"): overrides.pop(k) for k in list(overrides) if k.startswith("cmms_")}
    pipeline = providers.settings(**{"cloud_timeout_s": 3.0, "ollama_timeout_s": 3.0, **overrides})
    bot = BotSettings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        telegram_api_url=telegram.base_url,
        database_url=db_url,
        **{"admin_user_ids": [ADMIN], "album_wait_s": 0.4, **bot_fields},
    )
    return AppSettings(bot=bot, pipeline=pipeline, cmms=CmmsSettings(_env_file=None, **cmms_fields))


@pytest.fixture
async def start_bot(telegram: FakeTelegram, providers: FakeProviders, db_url: str) -> AsyncIterator[Callable[..., Any]]:
    running: list[Application] = []  # type: ignore[type-arg]

    async def start(**overrides: Any) -> Bot:
        settings = make_settings(telegram, providers, db_url, **overrides)
        app = build_application(settings)
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1, allowed_updates=Update.ALL_TYPES)
        await app.start()
        running.append(app)
        return Bot(telegram, providers, app, settings)

    yield start
    for app in running:
        assert app.updater is not None
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)
