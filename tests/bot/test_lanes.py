"""bot.chat.lanes: Telegram's overall rate, served by lane and then in order of arrival."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.chat.lanes import INTERACTIVE, PHOTO, PriorityLimiter


async def _fill(limiter: PriorityLimiter, n: int) -> None:
    for _ in range(n):
        await limiter.acquire(PHOTO)


async def _queue(
    limiter: PriorityLimiter, served: list[str], *waiters: tuple[str, int], first_served: asyncio.Event | None = None
) -> list[asyncio.Task[None]]:
    """Start the waiters one after another, each queued before the next starts."""

    async def wait(name: str, lane: int) -> None:
        await limiter.acquire(lane)
        served.append(name)
        if first_served is not None:
            first_served.set()

    tasks = []
    for name, lane in waiters:
        before = limiter.waiting
        tasks.append(asyncio.create_task(wait(name, lane)))
        await asyncio.sleep(0)  # the task runs up to its wait for a slot
        assert limiter.waiting == before + 1, "queued, not served: the bucket is full"
    return tasks


async def test_a_command_reply_goes_before_photo_messages_that_waited_longer() -> None:
    limiter = PriorityLimiter(20)
    await _fill(limiter, 20)  # the burst is spent
    served: list[str] = []
    tasks = await _queue(limiter, served, ("ack 1", PHOTO), ("ack 2", PHOTO), ("ack 3", PHOTO), ("/help", INTERACTIVE))
    await asyncio.gather(*tasks)
    assert served == ["/help", "ack 1", "ack 2", "ack 3"]


async def test_within_a_lane_first_come_first_served_and_no_newcomer_overtakes() -> None:
    limiter = PriorityLimiter(8)
    await _fill(limiter, 8)
    served: list[str] = []
    first = asyncio.Event()
    tasks = await _queue(limiter, served, *((f"ack {n}", PHOTO) for n in range(4)), first_served=first)
    await asyncio.wait_for(first.wait(), 5)  # a slot drips free and goes to the first in line; the others wait
    assert limiter.waiting > 0
    late = await _queue(limiter, served, ("newcomer", PHOTO))
    await asyncio.gather(*tasks, *late)
    assert served == [*(f"ack {n}" for n in range(4)), "newcomer"]


async def test_a_cancelled_waiter_gives_its_place_to_the_next() -> None:
    limiter = PriorityLimiter(20)
    await _fill(limiter, 20)
    served: list[str] = []
    tasks = await _queue(limiter, served, ("gone", PHOTO), ("ack", PHOTO))
    tasks[0].cancel()
    await asyncio.wait_for(tasks[1], 5)
    assert served == ["ack"] and limiter.waiting == 0


async def test_no_more_than_the_rate_after_the_burst() -> None:
    """The limiter's contract as a lower bound: 20 beyond a burst of 20 at 40/s cannot take less than 0.5 s."""
    limiter = PriorityLimiter(40)
    started = time.monotonic()
    await asyncio.gather(*(limiter.acquire(PHOTO if n % 2 else INTERACTIVE) for n in range(60)))
    assert time.monotonic() - started >= 20 / 40 - 0.02


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        PriorityLimiter(0)
