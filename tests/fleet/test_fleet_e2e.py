"""The README's deployment, run: ``plc-copilot migrate``, ``plc-copilot set-webhook``, two ``plc-copilot web`` and two
``plc-copilot worker`` processes on one PostgreSQL, with the fake Bot API delivering updates by webhook as
Telegram's server does (per chat, the next only after a 2xx; retries otherwise) through a round-robin balancer.

Each worker runs one job at a time (``WORKER_CONCURRENCY=1``) and talks to its own fake providers, so the test
knows which worker does what without guessing: a worker held inside a model call (``held``) is busy, and the
next job can only go to the other. Nothing waits for a duration; every wait is for a state (an update done, a
call arrived).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.bot.conftest import TOKEN
from tests.bot.test_run_process import clean_env
from tests.conftest import make_photo
from tests.fakes.http import free_port
from tests.fakes.providers import FakeProviders, Held, held, invalid_json, rate_limited
from tests.fakes.telegram import FakeTelegram

SECRET = "fleet-test-secret_0123456789"
STARTUP_S = 180  # four new interpreters importing the SDKs on a loaded 2-core machine
STEP_S = 120


class Fleet:
    def __init__(self, telegram: FakeTelegram, providers: list[FakeProviders], db_url: str, folder: Path) -> None:
        self.telegram, self.providers, self.folder = telegram, providers, folder
        self.conninfo = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.env = clean_env()
        self.env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=telegram.base_url,
            DATABASE_URL=self.conninfo,
            WEBHOOK_URL="https://bot.example.test/telegram",
            WEBHOOK_SECRET=SECRET,
            CASCADE="claude:0.8,gemini",
            ALBUM_WAIT_S="3",
            WORKER_CONCURRENCY="1",
            FLEET_STALLED_AFTER_S="20",  # a live worker on a loaded CI machine must never look dead
            CLOUD_TIMEOUT_S="240",
            REQUEST_TIMEOUT_S="300",
            LOG_LEVEL="INFO",
        )
        self.processes: dict[str, subprocess.Popen[str]] = {}

    def env_for(self, providers: FakeProviders | None = None, **extra: str) -> dict[str, str]:
        env = dict(self.env)
        if providers is not None:
            env.update({key.upper(): str(value) for key, value in providers.settings_overrides().items()})
        env.update(extra)
        return env

    async def cli(self, *args: str) -> str:
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot.cli.main", "--env-file", os.devnull, *args],
            env=self.env_for(),
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=STARTUP_S,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def start(self, name: str, env: dict[str, str], *args: str) -> None:
        with (self.folder / f"{name}.log").open("w") as log:  # the child keeps its own copy of the descriptor
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "bot.cli.main", "--env-file", os.devnull, *args],
                env=env,
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )

    def claude_calls(self) -> list[int]:
        return [len(fake.calls("claude")) for fake in self.providers]

    def output(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.folder.glob("*.log")))

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    # -- the database, read as an operator would -----------------------------------------------------------
    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.conninfo, autocommit=True) as connection:
            return list(connection.execute(sql.encode(), params).fetchall())  # type: ignore[arg-type]

    def done(self, *updates: dict[str, Any]) -> bool:
        ids = [u["update_id"] for u in updates]
        rows = self.query("SELECT count(*) FROM update_inbox WHERE done AND update_id = ANY(%s)", ids)
        return bool(rows[0][0] == len(ids))

    async def wait_done(self, *updates: dict[str, Any]) -> None:
        try:
            await self.telegram.wait_for(lambda: self.done(*updates), timeout=STEP_S)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.output()}") from None

    async def busy_with(self, holds: list[Held]) -> int:
        """Which worker's provider call arrived (the worker is now held inside it)."""
        await self.telegram.wait_for(lambda: any(h.arrived.is_set() for h in holds), timeout=STEP_S)
        return next(i for i, h in enumerate(holds) if h.arrived.is_set())


@pytest.fixture
def fleet(pg_url: str, tmp_path: Path) -> Iterator[Fleet]:
    with FakeTelegram(token=TOKEN) as telegram, FakeProviders() as one, FakeProviders() as two:
        running = Fleet(telegram, [one, two], pg_url, tmp_path)
        try:
            yield running
        finally:
            running.stop_all()


async def test_two_ingresses_and_two_workers_serve_telegram_as_one_bot(fleet: Fleet) -> None:
    telegram, providers = fleet.telegram, fleet.providers
    # the deploy steps, as the README lists them
    await fleet.cli("migrate")
    assert "webhook set: https://bot.example.test/telegram" in await fleet.cli("set-webhook")
    ports = [free_port(), free_port()]
    telegram.balance_to([f"http://127.0.0.1:{port}/telegram" for port in ports])
    for index, port in enumerate(ports):
        fleet.start(f"web{index}", fleet.env_for(WEB_PORT=str(port)), "web")
    for index, fake in enumerate(providers):
        fleet.start(f"worker{index}", fleet.env_for(fake), "worker", "--name", f"worker{index}")

    # 1. Two chats' updates: each chat's answered in order, none twice (one is delivered twice).
    commands = ["/start", "/help", "/usage", "/workorders", "hello"]
    sent = {
        chat: [telegram.send_command(chat, c) if c.startswith("/") else telegram.send_text(chat, c) for c in commands]
        for chat in (1001, 1002)
    }
    telegram.redeliver(sent[1001][1])
    every = [u for updates in sent.values() for u in updates]
    try:
        await telegram.wait_for(lambda: fleet.done(*every), timeout=STARTUP_S)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{fleet.output()}") from None
    twice = sent[1001][1]["update_id"]
    await telegram.wait_for(lambda: [d.status for d in telegram.deliveries if d.update_id == twice].count(200) == 2)
    for chat, updates in sent.items():
        runs = fleet.query(
            "SELECT (j.args->>'update_id')::bigint, "
            "min(e.at) FILTER (WHERE e.type = 'started'), max(e.at) FILTER (WHERE e.type = 'succeeded') "
            "FROM procrastinate_jobs j JOIN procrastinate_events e ON e.job_id = j.id "
            "WHERE j.lock = %s GROUP BY j.id ORDER BY j.id",
            f"chat:{chat}",
        )
        assert [r[0] for r in runs] == [u["update_id"] for u in updates], "one job per update, none twice"
        for earlier, later in itertools.pairwise(runs):
            assert later[1] >= earlier[2], f"chat {chat}: an update started before the previous one finished"
    assert fleet.query("SELECT max(attempts) FROM update_inbox") == [(1,)]

    # An album's items, collected from the inbox by one job, are analysed as one request. (Sent once the
    # ingresses are up: items further apart than ALBUM_WAIT_S are two albums, in a fleet as in one process.)
    album = [telegram.send_photo(1003, make_photo(seed), media_group_id="A1") for seed in (11, 12)]
    await fleet.wait_done(*album)
    assert sum(fleet.claude_calls()) == 1, "the album's two photos were analysed as one request"
    request = next(fake.calls("claude")[0] for fake in providers if fake.calls("claude"))
    blocks = request.json()["messages"][0]["content"]
    assert [b["type"] for b in blocks].count("image") == 2

    # 2. A 429 seen by one worker is respected by the other.
    holds = [held(invalid_json()) for _ in providers]
    for fake, hold in zip(providers, holds, strict=True):
        fake.script("claude", hold)
    slow = telegram.send_photo(2001, make_photo(21))
    busy = await fleet.busy_with(holds)
    free = 1 - busy
    providers[free].unscript("claude")
    providers[free].script("claude", invalid_json())
    providers[free].script("gemini", rate_limited("600"))
    limited = telegram.send_photo(2002, make_photo(22))
    await fleet.wait_done(limited)
    assert len(providers[free].calls("gemini")) == 1
    holds[busy].release.set()  # its claude answer is unusable: on to gemini, which the other worker saw refuse
    await fleet.wait_done(slow)
    assert providers[busy].calls("gemini") == [], "the worker that never saw the 429 skipped the tier anyway"
    fleet.query("DELETE FROM fleet_breakers RETURNING tier")

    # 3. A photo analysed on one worker is a cache hit on the other.
    holds = [held() for _ in providers]
    for fake, hold in zip(providers, holds, strict=True):
        fake.script("claude", hold)
    blocker = telegram.send_photo(3001, make_photo(31))
    busy = await fleet.busy_with(holds)
    free = 1 - busy
    providers[free].unscript("claude")
    before = fleet.claude_calls()
    first = telegram.send_photo(3002, make_photo(33))
    await fleet.wait_done(first)
    assert fleet.claude_calls()[free] == before[free] + 1, "the free worker analysed it"
    second_hold = held()
    providers[free].script("claude", second_hold)
    other_blocker = telegram.send_photo(3003, make_photo(32))
    await telegram.wait_for(second_hold.arrived.is_set, timeout=STEP_S)
    holds[busy].release.set()
    await fleet.wait_done(blocker)
    calls = fleet.claude_calls()
    again = telegram.send_photo(3004, make_photo(33))  # only the first worker is free now
    await fleet.wait_done(again)
    assert fleet.claude_calls() == calls, "answered from the cache, no model call"
    assert "from an earlier analysis" in (telegram.last_message(3004) or telegram.bot_messages(3004)[-1]).text
    second_hold.release.set()
    await fleet.wait_done(other_blocker)

    # 4. Killing a worker in the middle of an analysis loses nothing.
    holds = [held() for _ in providers]
    for fake, hold in zip(providers, holds, strict=True):
        fake.script("claude", hold)
    before = fleet.claude_calls()
    doomed = telegram.send_photo(4001, make_photo(41))
    victim = await fleet.busy_with(holds)
    providers[1 - victim].unscript("claude")
    fleet.processes[f"worker{victim}"].kill()
    fleet.processes[f"worker{victim}"].wait()
    holds[victim].release.set()
    await fleet.wait_done(doomed)  # the other worker finds the job stalled and runs it again
    assert fleet.query("SELECT attempts FROM update_inbox WHERE update_id = %s", doomed["update_id"]) == [(2,)]
    assert fleet.claude_calls()[1 - victim] == before[1 - victim] + 1, "the survivor analysed it once"
    free_used = fleet.query("SELECT free_used FROM users WHERE id = 4001")
    assert free_used == [(1,)], "the dead attempt's free photo was given back"
    final = telegram.last_message(4001)
    assert final is not None and "F004" in (final.plain or ""), telegram.dump()

    # 5. Periodic work ran once per tick for the whole fleet, whichever worker's scheduler deferred it.
    ticks = fleet.query(
        "SELECT task_name, count(*), count(DISTINCT args->>'timestamp') FROM procrastinate_jobs "
        "WHERE task_name IN ('plc.retry_stalled', 'plc.outbox') GROUP BY task_name"
    )
    assert {name for name, _, _ in ticks} == {"plc.retry_stalled", "plc.outbox"}
    assert all(jobs == distinct for _, jobs, distinct in ticks), ticks
