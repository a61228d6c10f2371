"""``plc-copilot run`` as a real process against the fake Bot API: the entry point, polling, SIGINT shutdown, and
what a ``kill -9`` in the middle of an analysis leaves behind (bot/updates/recovery.py)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from tests.bot.conftest import TOKEN
from tests.conftest import make_photo
from tests.fakes.providers import FakeProviders, Text, analysis_json, answer_json
from tests.fakes.telegram import FakeTelegram


def last_text(telegram: FakeTelegram) -> str:
    message = telegram.last_message(42)
    return (message.plain if message is not None else None) or ""


def clean_env() -> dict[str, str]:
    """The test runner's environment without anything that would configure the bot."""
    return {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_HOST", "_TOKEN", "DATABASE_URL"))}


def start_process(telegram: FakeTelegram, providers: FakeProviders, folder: Path) -> subprocess.Popen[str]:
    env = clean_env()
    env.update({key.upper(): str(value) for key, value in providers.settings_overrides().items()})
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=telegram.base_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'run.db'}",
        CASCADE="gemini",
        LOG_LEVEL="INFO",
    )
    # Popen returns at once; the test's event loop only waits on the fake's state until the final communicate().
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli.main", "--env-file", os.devnull, "run"],
        env=env,
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()  # never leave a bot polling after the test
        raise
    assert process.returncode == 0, output
    return output


async def killed_mid_call(
    telegram: FakeTelegram, providers: FakeProviders, folder: Path, held: threading.Event, send: Callable[[], object]
) -> None:
    """Start ``plc-copilot run``, ``send()`` once it polls, and SIGKILL it while the model call waits for
    ``held`` (set afterwards, so the next process's call is answered). No shutdown code runs."""
    first = start_process(telegram, providers, folder)
    try:
        await telegram.wait_for(lambda: telegram.sent("getUpdates"), timeout=120)  # see the import note above
        send()
        await telegram.wait_for(lambda: providers.calls("gemini"), timeout=120)
    finally:
        first.kill()
        first.communicate(timeout=60)
        held.set()


async def test_run_answers_start_and_a_photo_then_stops_cleanly(tmp_path: Path) -> None:
    """A fresh clone: an empty working directory, no DATABASE_URL (the default data/plc-copilot.db)."""
    with FakeTelegram(token=TOKEN) as telegram, FakeProviders() as providers:
        env = clean_env()
        env.update({key.upper(): str(value) for key, value in providers.settings_overrides().items()})
        env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=telegram.base_url, CASCADE="gemini", LOG_LEVEL="INFO")
        # Popen returns at once; the test's event loop only waits on the fake's state until the final communicate().
        process = subprocess.Popen(  # noqa: ASYNC220
            [sys.executable, "-m", "bot.cli.main", "--env-file", os.devnull, "run"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            # Generous: a new interpreter importing the four SDKs has taken 20 s+ on a loaded 2-core machine;
            # the wait ends as soon as the first getUpdates arrives.
            await telegram.wait_for(lambda: telegram.sent("getUpdates"), timeout=120)
            telegram.send_command(42, "/start")
            await telegram.wait_for(lambda: "PLC Copilot" in last_text(telegram))
            telegram.send_photo(42, make_photo(1))
            await telegram.wait_for(lambda: "Allen-Bradley" in last_text(telegram))
        finally:
            process.send_signal(signal.SIGINT)
            output, _ = process.communicate(timeout=60)
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
            [sys.executable, "-m", "bot.cli.main", "--env-file", os.devnull, "run"],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=150,  # see the import note above
        )  # fmt: skip
        assert len(telegram.sent("getMe")) == len(telegram.sent()) == 1, "nothing after Telegram said no"
    assert done.returncode == 2
    assert done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
    assert "Telegram rejected TELEGRAM_BOT_TOKEN" in done.stderr and "@BotFather" in done.stderr
    assert "Traceback" not in done.stderr and revoked not in done.stderr and TOKEN not in done.stderr


async def test_kill_9_mid_analysis_then_restart_answers_the_photo_and_charges_it_once(tmp_path: Path) -> None:
    held = threading.Event()  # the first attempt's model call never answers
    with FakeTelegram(token=TOKEN) as telegram, FakeProviders() as providers:
        providers.script("gemini", Text(analysis_json(), hold=held))
        await killed_mid_call(telegram, providers, tmp_path, held, lambda: telegram.send_photo(42, make_photo(1)))
        assert "Analyzing" in last_text(telegram)
        with sqlite3.connect(tmp_path / "run.db") as db:
            assert db.execute("SELECT free_used FROM users WHERE id = 42").fetchone() == (1,), "reserved, not settled"
            assert db.execute("SELECT count(*) FROM spend_reservations WHERE settled_at IS NULL").fetchone() == (1,)

        second = start_process(telegram, providers, tmp_path)
        try:
            await telegram.wait_for(lambda: "Allen-Bradley" in last_text(telegram), timeout=120)
        finally:
            stop(second)
        messages = telegram.bot_messages(42)
        assert len(messages) == 1, "the old status message became the card; no second one"
        assert any("picked up again after a restart" in (h or "") for h in messages[0].history)
        assert len(providers.calls("gemini")) == 2
        with sqlite3.connect(tmp_path / "run.db") as db:
            assert db.execute("SELECT free_used FROM users WHERE id = 42").fetchone() == (1,), "one photo, once"
            assert db.execute("SELECT count(*) FROM update_inbox WHERE NOT done").fetchone() == (0,)
            unsettled = "SELECT count(*) FROM spend_reservations WHERE settled_at IS NULL"
            assert db.execute(unsettled).fetchone() == (0,), "the dead call's budget estimate was released"


async def test_kill_9_mid_question_then_restart_answers_it_and_counts_it_once(tmp_path: Path) -> None:
    """A free question taken by a process that dies is given back at the next start (the inbox row holds it),
    and the question is answered then: today's allowance counts it once."""
    held = threading.Event()
    with FakeTelegram(token=TOKEN) as telegram, FakeProviders() as providers:
        providers.script("gemini", Text(answer_json("F004 is UnderVoltage."), hold=held))
        await killed_mid_call(
            telegram,
            providers,
            tmp_path,
            held,
            lambda: telegram.send_text(42, "what does F004 mean on a PowerFlex 525?"),
        )
        with sqlite3.connect(tmp_path / "run.db") as db:
            assert db.execute("SELECT questions_used FROM users WHERE id = 42").fetchone() == (1,), "taken"
            held_by = "SELECT question_user_id FROM update_inbox WHERE NOT done"
            assert db.execute(held_by).fetchall() == [(42,)], "the inbox row says who holds it"

        second = start_process(telegram, providers, tmp_path)
        try:
            await telegram.wait_for(lambda: "F004 is UnderVoltage" in last_text(telegram), timeout=120)
        finally:
            stop(second)
        assert len(providers.calls("gemini")) == 2
        with sqlite3.connect(tmp_path / "run.db") as db:
            assert db.execute("SELECT questions_used FROM users WHERE id = 42").fetchone() == (1,), "counted once"
            assert db.execute("SELECT count(*) FROM update_inbox WHERE NOT done").fetchone() == (0,)
            assert db.execute("SELECT count(*) FROM update_inbox WHERE question_user_id IS NOT NULL").fetchone() == (
                0,
            ), "released with the work done"


async def test_kill_9_mid_album_then_restart_answers_the_album_once(tmp_path: Path) -> None:
    """An album is several updates (one per photo) answered by its first: after a crash all of them come back
    from the inbox, and the restarted bot must rebuild one album from them, not answer each photo alone."""
    held = threading.Event()  # the first attempt's model call never answers
    with FakeTelegram(token=TOKEN) as telegram, FakeProviders() as providers:
        providers.script("gemini", Text(analysis_json(), hold=held))

        def album() -> None:
            telegram.send_photo(42, make_photo(21), caption="pump 3", media_group_id="g-crash")
            telegram.send_photo(42, make_photo(22), media_group_id="g-crash")

        await killed_mid_call(telegram, providers, tmp_path, held, album)
        with sqlite3.connect(tmp_path / "run.db") as db:
            assert db.execute("SELECT count(*) FROM update_inbox WHERE NOT done").fetchone() == (2,)

        second = start_process(telegram, providers, tmp_path)
        try:
            await telegram.wait_for(lambda: "Allen-Bradley" in last_text(telegram), timeout=120)
            await telegram.wait_for(lambda: len(providers.calls("gemini")) >= 2, timeout=30)
        finally:
            stop(second)
        calls = providers.calls("gemini")
        assert len(calls) == 2, "the album was analysed once more, as one request"
        parts = calls[1].json()["contents"][0]["parts"]
        assert sum(1 for p in parts if "inlineData" in p or "inline_data" in p) == 2, "both photos, one request"
        assert "pump 3" in json.dumps(parts), "the album's caption survived the restart"
        messages = telegram.bot_messages(42)
        assert len(messages) == 1, [m.plain for m in messages]
        with sqlite3.connect(tmp_path / "run.db") as db:
            assert db.execute("SELECT free_used FROM users WHERE id = 42").fetchone() == (1,), "one album, once"
            assert db.execute("SELECT count(*) FROM update_inbox WHERE NOT done").fetchone() == (0,)
