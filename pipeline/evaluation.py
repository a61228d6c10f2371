"""The evaluation sample: some real requests are also answered by every configured tier, for measurement.

Which requests: ``sampled`` is a pure function of the request id, so the decision is stable and testable (no
random state). What runs: every configured tier that did not already give a valid answer while serving the
request (those answers are in the ledger under the same request id, so they are not paid for twice), each
asked the same photos and prompt, none of them allowed to stop the others: an evaluation cascade whose
thresholds no score can reach. Its rows are written with ``purpose="eval"`` under the served request's id, so
one request id gathers every tier's answer — the labelled set ``plc-copilot eval`` replays.

It runs after the user has their answer, under its own spending guard (the bot's eval budget).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pipeline.analysis import build_prompt
from pipeline.cascade import Cascade
from pipeline.costs import PriceTable
from pipeline.escalation import CascadeStep
from pipeline.intake import Photo, load_photo
from pipeline.ledger import record_attempts
from pipeline.settings import PipelineSettings
from pipeline.tiercall import TierCaller
from pipeline.types import Attempt, SpendingGuard, Tier

UNREACHABLE = 1.01  # above any score: every tier is asked
ANSWERED = "answered"  # an eval row's outcome for a valid answer (no accept/escalate decision was made)


def sampled(request_id: str, rate: float) -> bool:
    """Whether this request joins the evaluation set: a stable hash of its id below ``rate`` (0..1)."""
    if rate <= 0:
        return False
    bucket = int.from_bytes(hashlib.sha256(request_id.encode()).digest()[:8], "big") / 2**64
    return bucket < rate


class Evaluator:
    def __init__(
        self,
        settings: PipelineSettings,
        sessions: async_sessionmaker[AsyncSession],
        tiers: dict[str, Tier],
        prices: PriceTable,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._tiers = tiers
        self._prices = prices
        self._clock = clock
        self._now = now

    @property
    def tier_names(self) -> list[str]:
        return list(self._tiers)

    async def run(
        self,
        photos: Sequence[bytes],
        *,
        caption: str | None,
        request_id: str,
        user_id: int | None,
        guard: SpendingGuard | None,
        already: Collection[str] = (),
    ) -> list[Attempt]:
        """Ask every tier not in ``already`` and record what each said; returns the attempts recorded."""
        names = [name for name in self._tiers if name not in already]
        if not names:
            return []
        steps = [CascadeStep(name, UNREACHABLE) for name in names[:-1]] + [CascadeStep(names[-1], None)]
        caller = TierCaller(
            {n: self._tiers[n] for n in names}, self._prices, clock=self._clock, today=lambda: self._now().date()
        )
        cascade = Cascade(caller, steps)
        loaded = [await asyncio.to_thread(self._load, data) for data in photos]
        deadline = self._clock() + self._settings.request_timeout_s * len(names)  # no one is waiting
        outcome = await cascade.run(
            [p.image for p in loaded],
            build_prompt(caption, len(loaded)),
            user_id=user_id,
            deadline=deadline,
            guard=guard,
            progress=None,
        )
        attempts = [dataclasses.replace(a, outcome=ANSWERED) if a.analysis is not None else a for a in outcome.attempts]
        async with self._sessions.begin() as session:
            record_attempts(
                session, request_id=request_id, user_id=user_id, attempts=attempts, now=self._now(), purpose="eval"
            )
        return attempts

    async def aclose(self) -> None:
        for tier in self._tiers.values():
            await tier.aclose()

    def _load(self, data: bytes) -> Photo:
        return load_photo(data, max_bytes=self._settings.max_photo_bytes, max_pixels=self._settings.max_pixels)
