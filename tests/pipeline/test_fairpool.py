"""FairPool: users take turns for decode workers, so one user's burst never queues in front of another's photo."""

from __future__ import annotations

import asyncio
import threading

import pytest

from pipeline.fairpool import FairPool


async def test_a_burst_from_one_user_does_not_delay_another() -> None:
    pool = FairPool(1)
    started, release, order = threading.Event(), threading.Event(), []

    def job(label: str, block: bool = False) -> str:
        if block:
            started.set()
            release.wait(5)
        order.append(label)
        return label

    try:
        burst = [asyncio.create_task(pool.run("ann", lambda i=i: job(f"ann{i}", block=i == 0))) for i in range(5)]
        await asyncio.to_thread(started.wait, 5)  # ann0 holds the only worker
        bob = asyncio.create_task(pool.run("bob", lambda: job("bob")))
        await asyncio.sleep(0)
        assert pool.waiting() == 5
        release.set()
        assert await bob == "bob"
        await asyncio.gather(*burst)
        assert order[:2] == ["ann0", "bob"], "Bob waited for one of Ann's jobs, not five"
    finally:
        pool.close()


async def test_errors_come_back_and_the_worker_is_freed() -> None:
    pool = FairPool(1)

    def boom() -> None:
        raise ValueError("bad file")

    try:
        with pytest.raises(ValueError, match="bad file"):
            await pool.run("ann", boom)
        assert await pool.run("ann", lambda: 42) == 42
    finally:
        pool.close()


def test_a_pool_needs_a_worker() -> None:
    with pytest.raises(ValueError):
        FairPool(0)
