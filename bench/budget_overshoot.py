"""Daily-cap overshoot under a burst of concurrent photos: the database guard vs a check-then-act guard.

60 photos reserve at once against a $1.00 cap with 3-cent estimates; each "call" takes a random moment and
settles with a cost off by ±10 % of its estimate, on a real SQLite file (WAL). The guard may overshoot only by
the positive estimation errors of calls in flight; the check-then-act baseline (kept in the tests as the
deliberately wrong implementation the concurrency test must catch) admits nearly everyone.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from sqlalchemy import func, select

from bench._common import print_table
from bot.runtime.db import make_engine, make_sessionmaker, upgrade
from bot.runtime.models import SpendReservation
from pipeline.costs import format_usd
from tests.bot import test_budget as scenario

PHOTOS = 60
SEEDS = range(1, 6)


async def _one(kind: str, seed: int) -> list[object]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'budget.db'}"
        await asyncio.to_thread(upgrade, url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        guard = scenario.make_guard(sessions) if kind == "database guard" else scenario.CheckThenAct(sessions)
        admitted, error_bound = await scenario._run_burst(guard, sessions, PHOTOS, seed)
        async with sessions() as session:
            spent = int(await session.scalar(select(func.sum(SpendReservation.actual_micro_usd))) or 0)
        await engine.dispose()
    over = spent - scenario.CAP
    return [kind, seed, f"{admitted}/{PHOTOS}", format_usd(spent), f"{over / 1e6:+.4f}", format_usd(error_bound)]


async def _all() -> list[list[object]]:
    rows = []
    for seed in SEEDS:
        for kind in ("database guard", "check-then-act"):
            rows.append(await _one(kind, seed))
    return rows


def run() -> None:
    rows = asyncio.run(_all())
    print_table(
        f"{PHOTOS} concurrent photos against a {format_usd(scenario.CAP)} daily cap, 3-cent estimates, ±10 % actuals",
        ["guard", "seed", "admitted", "spent", "over cap $", "allowed overshoot (sum of + errors)"],
        rows,
    )
