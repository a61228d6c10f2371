"""A circuit breaker per tier, so a sleeping laptop or a rate-limited provider costs one fast failure, not a
timeout on every photo.

Pure state machine: the caller passes ``now`` (monotonic seconds). After an outage-like failure (connection
refused, timeout, 5xx) the tier is skipped for ``cooldown`` seconds; a 429 is skipped for its Retry-After (at
least one second); a rejected key or a model the provider does not know for ``auth_cooldown`` (an admin has to
fix the setting; ``admin_problem`` names the problem so the bot reports it once, ``key_broken`` is kept for the
key case). Bad output and rejected requests open the breaker only after ``max_strikes`` in a row, because
they are usually about one photo, not the tier. One success closes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipeline.errors import TierAuthError, TierError, TierModelNotFound, TierRateLimited, TierUnavailable


@dataclass
class Breaker:
    cooldown: float = 60.0
    auth_cooldown: float = 3600.0
    max_strikes: int = 3
    open_until: float = 0.0
    strikes: int = 0
    admin_problem: Literal["key_rejected", "model_missing"] | None = (
        None  # "key_rejected" or "model_missing" while the breaker waits for an admin
    )

    @property
    def key_broken(self) -> bool:
        return self.admin_problem == "key_rejected"

    def is_open(self, now: float) -> bool:
        return now < self.open_until

    def seconds_left(self, now: float) -> float:
        return max(0.0, self.open_until - now)

    def record_success(self) -> None:
        self.strikes = 0
        self.open_until = 0.0
        self.admin_problem = None

    def record_failure(self, error: TierError, now: float) -> None:
        self.strikes += 1
        if isinstance(error, TierAuthError | TierModelNotFound):
            self.admin_problem = "key_rejected" if isinstance(error, TierAuthError) else "model_missing"
            self._open(now, self.auth_cooldown)
        elif isinstance(error, TierRateLimited):
            wait = error.retry_after if error.retry_after is not None else self.cooldown
            self._open(now, max(1.0, wait))
        elif isinstance(error, TierUnavailable) or self.strikes >= self.max_strikes:
            self._open(now, self.cooldown)

    def _open(self, now: float, seconds: float) -> None:
        self.open_until = max(self.open_until, now + seconds)
