import pytest

from pipeline.breaker import Breaker
from pipeline.errors import (
    TierAuthError,
    TierBadOutput,
    TierError,
    TierModelNotFound,
    TierRateLimited,
    TierRejected,
    TierUnavailable,
)


@pytest.mark.parametrize(
    ("error", "open_for"),
    [
        (TierUnavailable("ollama", "connection refused"), 60.0),
        (TierRateLimited("gemini", "429", retry_after=17.0), 17.0),
        (TierRateLimited("gemini", "429", retry_after=0.2), 1.0),
        (TierRateLimited("gemini", "429"), 60.0),
        (TierAuthError("claude", "401"), 3600.0),
        (TierModelNotFound("grok", "404 model not found"), 3600.0),
        (TierBadOutput("grok", "unparsable"), 0.0),
        (TierRejected("grok", "400"), 0.0),
    ],
)
def test_first_failure_opens_for(error: TierError, open_for: float) -> None:
    breaker = Breaker(cooldown=60.0, auth_cooldown=3600.0)
    breaker.record_failure(error, now=100.0)
    assert breaker.seconds_left(100.0) == pytest.approx(open_for)
    assert breaker.key_broken == isinstance(error, TierAuthError)
    problem = {TierAuthError: "key_rejected", TierModelNotFound: "model_missing"}.get(type(error))
    assert breaker.admin_problem == problem


def test_success_clears_the_admin_problem() -> None:
    breaker = Breaker(auth_cooldown=3600.0)
    breaker.record_failure(TierModelNotFound("grok", "404"), now=0.0)
    assert breaker.is_open(3599.0) and breaker.admin_problem == "model_missing"
    breaker.record_success()
    assert breaker.admin_problem is None and not breaker.is_open(1.0)


def test_repeated_bad_output_opens_after_max_strikes_and_success_closes() -> None:
    breaker = Breaker(cooldown=30.0, max_strikes=3)
    for now in (1.0, 2.0):
        breaker.record_failure(TierBadOutput("grok", "x"), now=now)
        assert not breaker.is_open(now)
    breaker.record_failure(TierBadOutput("grok", "x"), now=3.0)
    assert breaker.is_open(3.0) and not breaker.is_open(33.0)
    breaker.record_success()
    assert not breaker.is_open(4.0) and breaker.strikes == 0
