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


def clean_env() -> dict[str, str]:
    """The test runner's environment without anything that would configure the bot."""
    return {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_HOST", "_TOKEN", "DATABASE_URL"))}


async def test_run_answers_start_and_a_photo_then_stops_cleanly(tmp_path: Path) -> None:
    """A fresh clone: an empty working directory, no DATABASE_URL (the default data/plc-copilot.db)."""
    with FakeTelegram(token=TOKEN) as telegram, FakeProviders() as providers:
        env = clean_env()
        env.update({key.upper(): str(value) for key, value in providers.settings_overrides().items()})
        env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=telegram.base_url, CASCADE="gemini", LOG_LEVEL="INFO")
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
        assert "starting PLC Copilot as @plc_copilot_test_bot" in output and TOKEN not in output
        assert (tmp_path / "data" / "plc-copilot.db").exists()


def test_run_with_a_rejected_token_says_so_in_one_sentence(tmp_path: Path) -> None:
    """Telegram answers 401 for a wrong or revoked token: one sentence, exit 2, no traceback, never the token."""
    revoked = TOKEN[:-4] + "dead"
    with FakeTelegram(token=TOKEN) as telegram:
        env = clean_env()
        env.update(TELEGRAM_BOT_TOKEN=revoked, TELEGRAM_API_URL=telegram.base_url)
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "--env-file", "/nonexistent", "run"],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert len(telegram.sent("getMe")) == len(telegram.sent()) == 1, "nothing after Telegram said no"
    assert done.returncode == 2
    assert done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
    assert "Telegram rejected TELEGRAM_BOT_TOKEN" in done.stderr and "@BotFather" in done.stderr
    assert "Traceback" not in done.stderr and revoked not in done.stderr and TOKEN not in done.stderr
