"""Table tests of the pure delivery decisions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cmmsconnect.policy import Outcome, backoff_delay, classify_status, map_priority, next_attempt_at, parse_retry_after
from tests.cmms.conftest import T0


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.OK),
        (201, Outcome.OK),
        (204, Outcome.OK),
        (400, Outcome.PERMANENT),
        (404, Outcome.PERMANENT),
        (409, Outcome.PERMANENT),
        (413, Outcome.PERMANENT),
        (422, Outcome.PERMANENT),
        (302, Outcome.PERMANENT),
        (401, Outcome.REFRESH_AUTH),
        (403, Outcome.REFRESH_AUTH),
        (408, Outcome.RETRY),
        (425, Outcome.RETRY),
        (500, Outcome.RETRY),
        (502, Outcome.RETRY),
        (503, Outcome.RETRY),
        (504, Outcome.UNKNOWN),
        (429, Outcome.RATE_LIMITED),
    ],
)
def test_classify_status(status: int, outcome: Outcome) -> None:
    assert classify_status(status) is outcome


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({}, None),
        ({"retry-after": "30"}, 30.0),
        ({"retry-after": "-5"}, 0.0),
        ({"retry-after": "Mon, 02 Mar 2026 08:02:00 GMT"}, 120.0),
        ({"retry-after": "soon"}, None),
        ({"x-rate-limit-reset": "45"}, 45.0),
        ({"x-rate-limit-reset": str(int(T0.timestamp()) + 12)}, 12.0),
        ({"retry-after": "7", "x-rate-limit-reset": "45"}, 7.0),
    ],
)
def test_parse_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    assert parse_retry_after(headers, T0) == seconds


@pytest.mark.parametrize(
    ("attempt", "rand", "delay"),
    [(1, 0.0, 2.5), (1, 1.0, 5.0), (2, 0.5, 7.5), (3, 0.0, 10.0), (10, 0.0, 900.0), (30, 1.0, 1800.0)],
)
def test_backoff_doubles_with_jitter_and_cap(attempt: int, rand: float, delay: float) -> None:
    assert backoff_delay(attempt, rand=lambda: rand, base_s=5, cap_s=1800) == delay


def test_retry_after_wins_over_backoff() -> None:
    kwargs = {"rand": lambda: 0.0, "base_s": 5.0, "cap_s": 1800.0}
    assert next_attempt_at(T0, 9, retry_after=3.0, **kwargs) == T0 + timedelta(seconds=3)  # type: ignore[arg-type]
    assert next_attempt_at(T0, 1, retry_after=None, **kwargs) == T0 + timedelta(seconds=2.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("backend", "priority", "value"),
    [
        ("atlas", "low", "LOW"),
        ("atlas", "urgent", "HIGH"),
        ("maintainx", "medium", "MEDIUM"),
        ("maintainx", "high", "HIGH"),
        ("odoo", "low", "1"),
        ("odoo", "medium", "2"),
        ("odoo", "urgent", "3"),
        ("webhook", "urgent", "urgent"),
        ("odoo", "bogus", "2"),
    ],
)
def test_priority_mapping(backend: str, priority: str, value: str) -> None:
    assert map_priority(backend, priority) == value
