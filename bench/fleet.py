"""Photos per second through the fleet with 1 and 2 worker processes: real ``plc-copilot web`` + ``worker``
processes on PostgreSQL, the fake Bot API delivering by webhook, Gemini answering in ``MODEL_S``.

``ingress``: how long ``plc-copilot web`` takes to answer Telegram (record the update, defer its job, commit,
200), request after request from one client, against the same process answering ``GET /healthz`` (one
``SELECT 1`` through the same pool) — the floor of any answer that touches the database.

``throughput``: N technicians (N chats) each send one different real inspection photo at once (cache misses). Timed
from the moment the updates are queued at the fake Bot API to the moment every update is done in the inbox. Each
photo goes through intake (decode, orientation, limits), the fingerprint, the nameplate reader when it is on (local
OCR, the CPU-heavy part) and one model call. Telegram's own limit (30 msg/s) is lifted to 1,000 here: it bounds the
fleet as a whole, not a worker, and would hide what the workers can do. The machine's load is printed: on a shared
2-core machine the figures say what a second worker adds, as a ratio to one.

Needs PostgreSQL (``PLC_TEST_POSTGRES_URL``, default the test server); makes and drops its own database.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from bench._common import REPO_ROOT, photo_paths, print_table
from bot.runtime.db import upgrade
from tests.conftest import make_photo
from tests.fakes.http import free_port
from tests.fakes.providers import FakeProviders, Text, analysis_json
from tests.fakes.telegram import FakeTelegram
from tests.pg import server_url

PHOTOS = 24
MODEL_S = 0.3
TOKEN = "123456:AAH-fake-token-for-bench-0123456789ab"
SECRET = "bench-secret"
WAIT_S = 600.0


def photos() -> list[bytes]:
    paths = photo_paths("inspection")
    if paths:
        return [p.read_bytes() for p in paths[:PHOTOS]]
    return [make_photo(seed, size=(1600, 1200)) for seed in range(PHOTOS)]


class Database:
    def __init__(self) -> None:
        self.admin = server_url()
        self.name = f"plc_bench_fleet_{secrets.token_hex(3)}"

    def __enter__(self) -> str:
        with psycopg.connect(self.admin, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        return make_url(self.admin).set(database=self.name).render_as_string(hide_password=False)

    def __exit__(self, *exc: object) -> None:
        with psycopg.connect(self.admin, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))


def reset(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        ]
        connection.execute(("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE").encode())


def done_count(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute("SELECT count(*) FROM update_inbox WHERE done").fetchone()
    return int(row[0]) if row else 0


async def one_round(url: str, workers: int, reader: bool, data: list[bytes], folder: Path) -> float:
    reset(url)
    with FakeTelegram(token=TOKEN) as telegram, FakeProviders() as providers:
        providers.set_default("gemini", Text(analysis_json(), delay=MODEL_S))
        env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_HOST", "_TOKEN", "DATABASE_URL"))}
        env.update({key.upper(): str(value) for key, value in providers.settings_overrides().items()})
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=telegram.base_url,
            TELEGRAM_RATE_LIMIT="1000",
            DATABASE_URL=url,
            WEBHOOK_URL="https://bench.example.test/telegram",
            WEBHOOK_SECRET=SECRET,
            CASCADE="gemini",
            PLATE_READER="true" if reader else "false",
            FREE_PHOTOS="1000",
            PHOTOS_PER_MINUTE="0",
            LOG_LEVEL="WARNING",
            PTB_TIMEDELTA="1",
        )
        port = free_port()
        telegram.balance_to([f"http://127.0.0.1:{port}/telegram"])
        processes = start(env, folder, port, workers)
        try:
            # warm-up: one photo per worker, so every process has imported and loaded before the clock starts
            for i in range(workers * 2):
                telegram.send_photo(900_000 + i, make_photo(10_000 + i))
            await telegram.wait_for(lambda: done_count(url) >= workers * 2, timeout=WAIT_S)
            target = done_count(url) + len(data)
            started = time.perf_counter()
            for i, photo in enumerate(data):
                telegram.send_photo(1_000 + i, photo)
            await telegram.wait_for(lambda: done_count(url) >= target, timeout=WAIT_S)
            return len(data) / (time.perf_counter() - started)
        finally:
            stop(processes)


def start(env: dict[str, str], folder: Path, port: int, workers: int) -> list[subprocess.Popen[bytes]]:
    """``set-webhook``, then one ``web`` and ``workers`` × ``worker``, as the README's deployment guide."""
    command = [sys.executable, "-m", "bot.cli.main", "--env-file", os.devnull]
    subprocess.run([*command, "set-webhook"], env=env, cwd=folder, check=True, capture_output=True)
    roles = [["web", "--port", str(port)]] + [["worker", "--name", f"worker{i}"] for i in range(workers)]
    processes = []
    for role in roles:
        with (folder / f"{role[-1]}.log").open("w") as log:  # the OCR's warnings would drown the table
            processes.append(
                subprocess.Popen([*command, *role], env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
            )
    return processes


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


INGRESS_REQUESTS = 300


def ingress_latency(url: str, folder: Path) -> list[list[object]]:
    reset(url)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_HOST", "_TOKEN", "DATABASE_URL"))}
    env.update(DATABASE_URL=url, WEBHOOK_SECRET=SECRET, LOG_LEVEL="WARNING")
    command = [sys.executable, "-m", "bot.cli.main", "--env-file", os.devnull, "web", "--port", str(port)]
    with (folder / "ingress.log").open("w") as log:
        process = subprocess.Popen(command, env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            deadline = time.monotonic() + WAIT_S
            while True:  # the process imports its SDKs first
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("plc-copilot web did not start")
                time.sleep(0.2)
            posts, pings = [], []
            for i in range(INGRESS_REQUESTS):
                update = {
                    "update_id": 10_000 + i,
                    "message": {
                        "message_id": 1,
                        "date": int(time.time()),
                        "chat": {"id": 5_000 + i, "type": "private"},
                        "from": {"id": 5_000 + i, "is_bot": False, "first_name": "Tech"},
                        "text": "hello",
                    },
                }
                started = time.perf_counter()
                answer = client.post("/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
                posts.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, answer.text
                started = time.perf_counter()
                client.get("/healthz")
                pings.append((time.perf_counter() - started) * 1000)
    finally:
        stop([process])
    med_post, med_ping = statistics.median(posts), statistics.median(pings)
    return [
        ["POST /telegram (inbox + job, one commit)", med_post, pct(posts, 0.99), f"{med_post / med_ping:.1f}x"],
        ["GET /healthz (SELECT 1), baseline", med_ping, pct(pings, 0.99), "1.0x"],
    ]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run() -> None:
    load = os.getloadavg()
    print(f"  load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs before the run")
    data = photos()
    with Database() as url, tempfile.TemporaryDirectory() as folder:
        upgrade(url)
        print_table(
            f"ingress: {INGRESS_REQUESTS} updates posted one after another, each followed by a /healthz",
            ["request", "median ms", "p99 ms", "÷ baseline"],
            ingress_latency(url, Path(folder)),
        )
        rows = []
        for reader in (False, True):
            rates = {k: asyncio.run(one_round(url, k, reader, data, Path(folder))) for k in (1, 2)}
            rows.append(
                [
                    "on" if reader else "off",
                    f"{rates[1]:.2f}",
                    f"{rates[2]:.2f}",
                    f"{rates[2] / rates[1]:.2f}x",
                ]
            )
    print_table(
        f"{len(data)} photos at once, model {MODEL_S} s, 1 web + N workers (16 jobs each) on PostgreSQL",
        ["plate reader", "photos/s, 1 worker", "photos/s, 2 workers", "2 vs 1"],
        rows,
    )
    load = os.getloadavg()
    print(f"  load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} after the run ({REPO_ROOT.name})")
