"""Typed errors of the pipeline boundary.

The cascade branches on these types only, never on an SDK's exception classes; each tier module maps its
SDK's errors into this tree in one place (``_map_error``)::

    PipelineError
    ├── IntakeError                 the photo itself is unusable (bot tells the user why)
    │   ├── NotAnImage
    │   ├── PhotoTooLarge           over the byte limit
    │   └── TooManyPixels           decompression-bomb guard
    ├── TierError                   one tier attempt failed; the cascade escalates
    │   ├── TierUnavailable         connection refused, timeout, 5xx: cool down, try the next tier
    │   ├── TierRateLimited         429 (retry_after honoured by the circuit breaker)
    │   ├── TierAuthError           401/403: the key is broken, reported to admins once
    │   ├── TierRejected            the provider refused this request (400/413/422)
    │   │   └── TierModelNotFound   404 / "model … does not exist": retired or mistyped, reported to admins once
    │   └── TierBadOutput           the reply was not a valid analysis (unparsable or schema-invalid)
    ├── NoTierAvailable             nothing configured, or every tier cooling down / refused by budget
    └── AnalysisFailed              every tier tried failed; carries the attempts
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.types import Attempt, Usage


class PipelineError(Exception):
    """Base of every error the pipeline raises to its caller."""


class IntakeError(PipelineError):
    """The photo cannot be analysed; ``user_message`` is a sentence fit for the technician."""

    user_message = "I could not read that file as a photo."


class NotAnImage(IntakeError):
    user_message = "That file is not a photo I can read. Please send a JPEG, PNG, WebP or HEIC picture."


class PhotoTooLarge(IntakeError):
    user_message = "That photo is too large. Please send it as a normal photo rather than as a file."


class TooManyPixels(IntakeError):
    user_message = "That image has too many pixels to analyse safely. Please send a normal camera photo."


class TierError(PipelineError):
    """One tier attempt failed. ``tier`` is the tier's name in the cascade.

    ``usage`` is set when the provider answered (and billed) but the answer was unusable — an empty reply, a
    refusal — so the ledger still records what it cost.
    """

    outcome = "error"

    def __init__(self, tier: str, message: str, *, usage: Usage | None = None) -> None:
        super().__init__(f"{tier}: {message}")
        self.tier = tier
        self.message = message
        self.usage = usage


class TierUnavailable(TierError):
    outcome = "unavailable"


class TierRateLimited(TierError):
    outcome = "rate_limited"

    def __init__(self, tier: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(tier, message)
        self.retry_after = retry_after


class TierAuthError(TierError):
    outcome = "auth_error"


class TierRejected(TierError):
    outcome = "rejected"


class TierModelNotFound(TierRejected):
    """The provider does not know the configured model (retired, renamed, or not enabled for this key).

    Every later photo would fail the same way until an admin changes the setting, so the breaker keeps the
    tier off for a long time and the bot tells the admins once, as for a rejected key.
    """

    outcome = "model_missing"


class TierBadOutput(TierError):
    outcome = "bad_output"


class NoTierAvailable(PipelineError):
    """No tier could be asked: none configured, all cooling down, or all refused by the spending guard."""

    def __init__(self, message: str, budget_refused: bool = False) -> None:
        super().__init__(message)
        self.budget_refused = budget_refused


class AnalysisFailed(PipelineError):
    """Every tier that was tried failed; ``attempts`` says how."""

    def __init__(self, attempts: list[Attempt]) -> None:
        summary = ", ".join(f"{a.tier}: {a.outcome}" for a in attempts) or "no attempt"
        super().__init__(f"no tier produced an analysis ({summary})")
        self.attempts = attempts


def nobody_answered(attempts: list[Attempt], *, budget_refused: bool) -> NoTierAvailable | AnalysisFailed:
    """The error for a request no tier answered (photo or words): ``NoTierAvailable`` when no tier was even
    called (none configured, every one cooling down, refused by the budget or busy), else ``AnalysisFailed``."""
    if all(a.outcome.startswith("skipped") for a in attempts):
        return NoTierAvailable("every tier is cooling down or was refused by the budget", budget_refused)
    return AnalysisFailed(attempts)
