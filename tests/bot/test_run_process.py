"""``plc-copilot run`` as a real process against the fake Bot API: the entry point, polling, SIGINT shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.bot.conftest import TOKEN
from tests.conftest import make_photo
from tests.fakes.providers import FakeProviders
from tests.fakes.telegram import FakeTelegram


def last_text(telegram: FakeTelegram) -> str:
    message = telegram.last_message(42)
    return (message.plain if message is not None else None) or ""


async def test_run_answers_start_and_a_photo_then_stops_cleanly(tmp_path: Path) -> None:
    with FakeTelegram(token=TOKEN) as telegram, FakeProviders() as providers:
        env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_HOST"))}
        env.update({key.upper(): str(value) for key, value in providers.settings_overrides().items()})
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=telegram.base_url,
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
            CASCADE="gemini",
            LOG_LEVEL="INFO",
        )
        # Popen returns at once; the test's event loop only waits on the fake's state until the final communicate().
        process = subprocess.Popen(  # noqa: ASYNC220
            [sys.executable, "-m", "bot.cli", "--env-file", "/nonexistent", "run"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            await telegram.wait_for(lambda: telegram.sent("getUpdates"), timeout=30)
            telegram.send_command(42, "/start")
            await telegram.wait_for(lambda: "PLC Copilot" in last_text(telegram))
            telegram.send_photo(42, make_photo(1))
            await telegram.wait_for(lambda: "Allen-Bradley" in last_text(telegram))
        finally:
            process.send_signal(signal.SIGINT)
            output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output
        assert "starting PLC Copilot" in output and TOKEN not in output
        assert (tmp_path / "run.db").exists()
