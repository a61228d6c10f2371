"""What the pipeline tells its caller while it works: progress for the technician's status message, and events
an admin should hear about once. Both are callbacks of the caller's; a failing one is logged, never raised,
because a status edit or an admin message must not cost the technician the answer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from pipeline.types import Progress, ProgressCallback

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineEvent:
    """Something an admin should hear about once (the bot dedupes and reports)."""

    kind: Literal["key_rejected", "model_missing", "price_missing"]
    tier: str
    detail: str


EventCallback = Callable[[PipelineEvent], Awaitable[None]]


async def notify(progress: ProgressCallback | None, event: Progress) -> None:
    if progress is None:
        return
    try:
        await progress(event)
    except Exception:  # a failed status edit must never fail the analysis
        log.warning("progress callback failed", exc_info=True)


async def emit(on_event: EventCallback | None, event: PipelineEvent) -> None:
    if on_event is None:
        return
    try:
        await on_event(event)
    except Exception:
        log.exception("event callback failed for %s", event)
