"""The worker's periodic schedule, from the settings (bot/fleet/tasks.py)."""

from __future__ import annotations

import pytest
from croniter import croniter

from bot.fleet.tasks import every


@pytest.mark.parametrize(
    ("seconds", "cron", "gap_s"),
    [
        (10.0, "* * * * * */10", 10),
        (0.5, "* * * * * */1", 1),
        (30.4, "* * * * * */30", 30),
        (120.0, "*/2 * * * *", 120),
        (3600.0, "0 * * * *", 3600),
    ],
)
def test_outbox_poll_becomes_a_cron_with_seconds(seconds: float, cron: str, gap_s: int) -> None:
    assert every(seconds) == cron
    ticks = croniter(cron, 0)
    first = ticks.get_next(float)
    assert ticks.get_next(float) - first == gap_s
