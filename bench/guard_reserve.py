"""``DbSpendingGuard.reserve`` latency with 2 M ledger rows (and 2 M settled reservations) today, on PostgreSQL.

Baseline, measured in the same run on the same data: what reserve did on every call before issue 10, summing
the day's ledger (the statement that seeded the day's counter, run each time). The guard now seeds a counter
once per scope and day and otherwise runs two conditional UPDATEs and one INSERT. Target: ≤ 5 ms.

Needs a PostgreSQL server (``PLC_BENCH_POSTGRES_URL``, default the test server); the benchmark creates its own
database and drops it afterwards.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
from psycopg import sql
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from bench._common import print_table
from bot.accounts.budget import DbSpendingGuard, day_bounds
from bot.runtime.db import make_engine, make_sessionmaker, upgrade
from bot.runtime.settings import BotSettings
from pipeline.models import ModelCall

ROWS = 2_000_000
USERS = 5_000
CALLS = 200
BASELINE_CALLS = 30  # each takes most of a second
SERVER = os.environ.get("PLC_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

FILL = """
INSERT INTO model_calls (request_id, user_id, tier, provider, model_requested, input_tokens, output_tokens,
                         cost_micro_usd, latency_ms, outcome, created_at)
SELECT md5(g::text), mod(g, %(users)s), 'gemini', 'google', 'gemini-2.5-flash', 1000, 200, 50, 900, 'accepted',
       %(start)s + mod(g, 86000) * interval '1 second'
FROM generate_series(1, %(rows)s) AS g;
INSERT INTO spend_reservations (day, user_id, provider, estimate_micro_usd, actual_micro_usd, expires_at,
                                settled_at, created_at)
SELECT %(day)s, mod(g, %(users)s), 'google', 60, 50, %(start)s + mod(g, 86000) * interval '1 second' + interval '5 min',
       %(start)s + mod(g, 86000) * interval '1 second', %(start)s + mod(g, 86000) * interval '1 second'
FROM generate_series(1, %(rows)s) AS g;
ANALYZE;
"""


async def _measure(url: str, start: datetime) -> list[list[object]]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    now = start + timedelta(hours=23, minutes=59)
    guard = DbSpendingGuard(
        sessions, BotSettings(_env_file=None, daily_budget_usd=Decimal(1_000_000)),  # type: ignore[call-arg]
        ttl=timedelta(minutes=5), now=lambda: now,
    )  # fmt: skip
    first_start = time.perf_counter()
    await guard.reserve(user_id=1, provider="google", estimate_micro_usd=60)  # seeds today's counters
    first_ms = (time.perf_counter() - first_start) * 1000

    begin, end = day_bounds(start.date())
    day_sum = select(func.coalesce(func.sum(ModelCall.cost_micro_usd), 0)).where(
        ModelCall.created_at >= begin, ModelCall.created_at < end
    )
    baseline, guarded, floor = [], [], []
    for i in range(CALLS):
        t = time.perf_counter()
        async with sessions() as session:  # the machine's floor: one checkout and one round trip
            await session.execute(text("SELECT 1"))
        floor.append((time.perf_counter() - t) * 1000)
        if i < BASELINE_CALLS:  # interleaved with the guard's calls, so both see the same machine load
            t0 = time.perf_counter()
            async with sessions() as session:  # what every reserve paid before: the day's ledger summed
                await session.scalar(day_sum)
            baseline.append((time.perf_counter() - t0) * 1000)
        t1 = time.perf_counter()
        token = await guard.reserve(user_id=2 + i % 50, provider="google", estimate_micro_usd=60)
        guarded.append((time.perf_counter() - t1) * 1000)
        assert token is not None
        await guard.settle(token, 55)
    await engine.dispose()
    base, new, one = statistics.median(baseline), statistics.median(guarded), statistics.median(floor)
    p95 = sorted(guarded)[int(0.95 * len(guarded))]
    return [[f"{ROWS:,} ledger + {ROWS:,} reservations today", f"{base:.1f}", f"{new:.2f}", f"{p95:.2f}",
             f"{base / new:.0f}×", f"{one:.2f}", f"{new / one:.1f}", f"{first_ms:.0f}"]]  # fmt: skip


def run() -> None:
    name = f"plc_bench_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(SERVER, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        print(f"  (skipped: no PostgreSQL at {SERVER}: {exc})")
        return
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            url = make_url(SERVER).set(drivername="postgresql+psycopg", database=name)
            rendered = url.render_as_string(hide_password=False)
            upgrade(rendered)
            start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            filled = time.perf_counter()
            conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
            with psycopg.connect(conninfo, autocommit=True) as connection:
                params = {"rows": ROWS, "users": USERS, "start": start, "day": start.date().isoformat()}
                for statement in FILL.split(";"):
                    if statement.strip():
                        connection.execute(statement.encode(), params)
            print(f"  filled in {time.perf_counter() - filled:.0f} s")
            rows = asyncio.run(_measure(rendered, start))
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    print_table(
        f"DbSpendingGuard.reserve on PostgreSQL, median of {CALLS} calls (baseline: {BASELINE_CALLS}); the first seeds",
        [
            "data",
            "baseline: day's ledger sum ms",
            "reserve ms",
            "reserve p95 ms",
            "speed-up",
            "SELECT 1 ms",
            "reserve / SELECT 1",
            "first call ms",
        ],
        rows,
    )
