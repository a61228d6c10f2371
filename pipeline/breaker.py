"""A circuit breaker per tier, so a sleeping laptop or a rate-limited provider costs one fast failure, not a
timeout on every photo.

Pure state machine: the caller passes ``now`` (monotonic seconds). After an outage-like failure (connection
refused, timeout, 5xx) the tier is skipped for ``cooldown`` seconds; a 429 is skipped for its Retry-After (at
least one second); a rejected key for ``auth_cooldown`` (an admin has to fix it; ``key_broken`` tells the bot to
report it once). Bad output and rejected requests open the breaker only after ``max_strikes`` in a row, because
they are usually about one photo, not the tier. One success closes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.errors import TierAuthError, TierError, TierRateLimited, TierUnavailable


@dataclass
class Breaker:
    cooldown: float = 60.0
    auth_cooldown: float = 3600.0
    max_strikes: int = 3
    open_until: float = 0.0
    strikes: int = 0
    key_broken: bool = False

    def is_open(self, now: float) -> bool:
        return now < self.open_until

    def seconds_left(self, now: float) -> float:
        return max(0.0, self.open_until - now)

    def record_success(self) -> None:
        self.strikes = 0
        self.open_until = 0.0
        self.key_broken = False

    def record_failure(self, error: TierError, now: float) -> None:
        self.strikes += 1
        if isinstance(error, TierAuthError):
            self.key_broken = True
            self._open(now, self.auth_cooldown)
        elif isinstance(error, TierRateLimited):
            wait = error.retry_after if error.retry_after is not None else self.cooldown
            self._open(now, max(1.0, wait))
        elif isinstance(error, TierUnavailable) or self.strikes >= self.max_strikes:
            self._open(now, self.cooldown)

    def _open(self, now: float, seconds: float) -> None:
        self.open_until = max(self.open_until, now + seconds)
