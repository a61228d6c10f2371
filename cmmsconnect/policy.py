"""Pure decisions of delivery: what an HTTP status means, when to try again, how priorities translate.

Everything here takes values and returns values (time and randomness are parameters), so the outbox worker
stays a thin loop and the rules are table-tested without sleeping or a network.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Literal

Priority = Literal["low", "medium", "high", "urgent"]
PRIORITIES: tuple[Priority, ...] = ("low", "medium", "high", "urgent")


class Outcome(StrEnum):
    OK = "ok"
    RETRY = "retry"  # not done, nothing happened: try again later
    RATE_LIMITED = "rate_limited"  # retry, after the delay the server asked for
    UNKNOWN = "unknown"  # may or may not have been done: look for it before resending
    REFRESH_AUTH = "refresh_auth"  # get a new token once, then repeat the request
    PERMANENT = "permanent"  # the request itself is wrong: never resend it


# 504 comes from a gateway that gave up waiting: the CMMS behind it may well have created the work order.
_UNKNOWN = frozenset({504})
_RETRY = frozenset({408, 425})
_AUTH = frozenset({401, 403})


def classify_status(status: int) -> Outcome:
    """Map an HTTP status to what the outbox should do next."""
    if 200 <= status < 300:
        return Outcome.OK
    if status == 429:
        return Outcome.RATE_LIMITED
    if status in _AUTH:
        return Outcome.REFRESH_AUTH
    if status in _UNKNOWN:
        return Outcome.UNKNOWN
    if status in _RETRY or status >= 500:
        return Outcome.RETRY
    return Outcome.PERMANENT  # 400, 404, 409, 413, 422 and every other 4xx (3xx: we never follow a redirect)


_EPOCH_THRESHOLD = 1_000_000_000  # a "reset" value this large is a Unix time, not a number of seconds


def parse_retry_after(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds to wait, from ``Retry-After`` (seconds or HTTP date) or MaintainX's ``X-Rate-Limit-Reset``.

    ``headers`` must have lower-case names. None when the server said nothing usable.
    """
    raw = headers.get("retry-after")
    if raw is not None:
        raw = raw.strip()
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, (when - now).total_seconds())
    reset = headers.get("x-rate-limit-reset")
    if reset is not None:
        try:
            value = float(reset.strip())
        except ValueError:
            return None
        if value >= _EPOCH_THRESHOLD:
            value -= now.timestamp()
        return max(0.0, value)
    return None


def backoff_delay(attempt: int, *, rand: Callable[[], float], base_s: float = 5.0, cap_s: float = 1800.0) -> float:
    """Exponential backoff with "equal jitter": half the step is fixed, half is random.

    ``attempt`` counts from 1. Full jitter could retry almost at once after an outage, which hammers a CMMS
    just coming back; equal jitter keeps a floor while still spreading the fleet of retries apart.
    """
    step = min(cap_s, base_s * 2.0 ** max(0, attempt - 1))
    return step / 2 + rand() * step / 2


def next_attempt_at(
    now: datetime,
    attempt: int,
    *,
    retry_after: float | None,
    rand: Callable[[], float],
    base_s: float,
    cap_s: float,
) -> datetime:
    """When to try again: the server's Retry-After when it gave one (never sooner), else backoff."""
    if retry_after is not None:
        return now + timedelta(seconds=retry_after)
    return now + timedelta(seconds=backoff_delay(attempt, rand=rand, base_s=base_s, cap_s=cap_s))


# Internal 4 levels → each CMMS's scale (CMMS-FACTS §4.2). Atlas and MaintainX stop at HIGH, so urgent
# shares it there and the description says "urgent"; Odoo's selection is '0'..'3' as strings.
PRIORITY_MAPS: Mapping[str, Mapping[Priority, str]] = {
    "atlas": {"low": "LOW", "medium": "MEDIUM", "high": "HIGH", "urgent": "HIGH"},
    "maintainx": {"low": "LOW", "medium": "MEDIUM", "high": "HIGH", "urgent": "HIGH"},
    "odoo": {"low": "1", "medium": "2", "high": "3", "urgent": "3"},
    "webhook": {"low": "low", "medium": "medium", "high": "high", "urgent": "urgent"},
    "local": {"low": "low", "medium": "medium", "high": "high", "urgent": "urgent"},
}


def normalize_priority(value: object) -> Priority:
    """Our priority from whatever the analysis said; anything unrecognised is medium."""
    text = str(value or "").strip().lower()
    for priority in PRIORITIES:
        if text == priority:
            return priority
    return "medium"


def map_priority(backend: str, priority: str) -> str:
    """The CMMS's value for our priority; an unknown priority is treated as medium."""
    return PRIORITY_MAPS[backend][normalize_priority(priority)]
