"""``Pipeline``: photo bytes in, ``Result`` out. Intake → cache → cascade → ledger (+ cache store).

The one entry point the bot (or the CLI) calls. It knows nothing of Telegram; it reports progress through a
callback and asks the caller's spending guard before each cloud call.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pipeline.analysis import PROMPT_VERSION, build_prompt
from pipeline.cache import AnalysisCache
from pipeline.cascade import Cascade, EventCallback, notify
from pipeline.costs import PriceTable
from pipeline.errors import AnalysisFailed, NoTierAvailable
from pipeline.escalation import parse_cascade
from pipeline.intake import Photo, load_photo
from pipeline.ledger import record_attempts
from pipeline.settings import PipelineSettings
from pipeline.tiers import TIER_NAMES
from pipeline.types import Attempt, Progress, ProgressCallback, Receipt, Result, SpendingGuard, Tier

log = logging.getLogger(__name__)

MAX_PHOTOS = 4


class Pipeline:
    def __init__(
        self,
        settings: PipelineSettings,
        sessions: async_sessionmaker[AsyncSession],
        tiers: dict[str, Tier],
        prices: PriceTable,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_event: EventCallback | None = None,
    ) -> None:
        self.settings = settings
        self._sessions = sessions
        self._clock = clock
        self._now = now
        self.tiers = tiers
        self.cascade = Cascade(
            tiers,
            parse_cascade(settings.cascade, known=frozenset(TIER_NAMES)),
            prices,
            cooldown_s=settings.cooldown_s,
            clock=clock,
            today=lambda: now().date(),
            on_event=on_event,
        )
        self.cache = AnalysisCache(
            sessions,
            max_distance=settings.cache_max_distance,
            ttl=timedelta(hours=settings.cache_ttl_hours),
            prompt_version=PROMPT_VERSION,
        )

    async def start(self) -> None:
        count = await self.cache.load(self._now())
        log.info("cache index loaded: %d analyses", count)

    async def aclose(self) -> None:
        for tier in self.tiers.values():
            await tier.aclose()

    def load(self, data: bytes) -> Photo:
        """Decode and fingerprint one photo (CPU-bound; call from a thread)."""
        return load_photo(data, max_bytes=self.settings.max_photo_bytes, max_pixels=self.settings.max_pixels)

    async def analyze(
        self,
        photos: Sequence[bytes],
        *,
        caption: str | None = None,
        user_id: int | None = None,
        guard: SpendingGuard | None = None,
        progress: ProgressCallback | None = None,
        fresh: bool = False,
        replaces: int | None = None,
        language: str | None = None,
    ) -> Result:
        """Analyse one request (1–4 photos of the same equipment).

        Raises ``IntakeError`` for an unusable photo, ``NoTierAvailable`` when no tier could be asked and
        ``AnalysisFailed`` when every tier asked failed. ``fresh`` skips the cache; ``replaces`` names the cached
        analysis a fresh one supersedes.
        ``language`` names the language the technician reads (e.g. "Spanish"); None or English: no instruction.
        """
        if not photos:
            raise ValueError("no photo given")
        started = self._clock()
        deadline = started + self.settings.request_timeout_s
        request_id = str(uuid.uuid4())
        loaded = [await asyncio.to_thread(self.load, data) for data in photos[:MAX_PHOTOS]]

        if not fresh and replaces is None:
            await notify(progress, Progress(stage="cache"))
            hit = await self._from_cache(loaded, request_id, user_id, started, caption)
            if hit is not None:
                return hit

        if not self.cascade.steps:
            raise NoTierAvailable("no analysis tier is configured (set OLLAMA_HOST or a cloud API key)")
        prompt = build_prompt(caption, len(loaded), language)
        outcome = await self.cascade.run(
            [p.image for p in loaded],
            prompt,
            user_id=user_id,
            deadline=deadline,
            guard=guard,
            progress=progress,
        )
        now = self._now()
        analysis_id: int | None = None
        async with self._sessions.begin() as session:
            record_attempts(session, request_id=request_id, user_id=user_id, attempts=outcome.attempts, now=now)
            stored = None
            if outcome.analysis is not None and not outcome.low_confidence:
                assert outcome.tier is not None and outcome.model is not None
                if replaces is not None:
                    await self.cache.supersede(session, replaces)
                stored = await self.cache.store(
                    session,
                    loaded,
                    outcome.analysis,
                    request_id=request_id,
                    caption=caption,
                    tier=outcome.tier,
                    model=outcome.model,
                    confidence=outcome.score,
                    now=now,
                )
        if stored is not None:
            analysis_id = stored.id
            self.cache.remember(stored.id, loaded[0].phash)
            if replaces is not None:
                self.cache.forget(replaces)

        await notify(progress, Progress(stage="done", tier=outcome.tier))
        if outcome.analysis is None:
            tried = [a for a in outcome.attempts if not a.outcome.startswith("skipped")]
            if not tried:
                reason = "every tier is cooling down or was refused by the budget"
                raise NoTierAvailable(reason, budget_refused=outcome.budget_refused)
            raise AnalysisFailed(outcome.attempts)
        receipt = Receipt(
            request_id=request_id,
            source="model",
            tier=outcome.tier,
            model=outcome.model,
            confidence=outcome.score,
            cost_micro_usd=sum(a.cost_micro_usd for a in outcome.attempts),
            duration_ms=self._ms_since(started),
            attempts=outcome.attempts,
            low_confidence=outcome.low_confidence,
            budget_limited=outcome.budget_refused,
        )
        return Result(outcome.analysis, receipt, analysis_id)

    async def cached(
        self, photos: Sequence[bytes], *, caption: str | None = None, user_id: int | None = None
    ) -> Result | None:
        """The cached answer for these photos and this caption, or None; never calls a model (for users without
        quota)."""
        started = self._clock()
        loaded = [await asyncio.to_thread(self.load, data) for data in photos[:MAX_PHOTOS]]
        return await self._from_cache(loaded, str(uuid.uuid4()), user_id, started, caption)

    async def discard(self, analysis_id: int) -> None:
        """Stop answering from this cached analysis (the bot could not deliver it; a re-send must not repeat
        the failure for 24 h)."""
        async with self._sessions.begin() as session:
            await self.cache.supersede(session, analysis_id)
        self.cache.forget(analysis_id)

    async def _from_cache(
        self, loaded: list[Photo], request_id: str, user_id: int | None, started: float, caption: str | None
    ) -> Result | None:
        hit = await self.cache.lookup(loaded, self._now(), caption)
        if hit is None:
            return None
        log.info("cache hit (%s, %d bits) analysis %d", hit.match, hit.distance, hit.analysis_id)
        attempt = Attempt(tier="cache", provider="cache", model=hit.model, outcome=f"hit_{hit.match}")
        await self._record(request_id, user_id, [attempt])
        receipt = Receipt(
            request_id=request_id,
            source="cache",
            tier=hit.tier,
            model=hit.model,
            confidence=hit.confidence,
            cost_micro_usd=0,
            duration_ms=self._ms_since(started),
            attempts=[attempt],
            cache_match=hit.match,
            cached_at=hit.created_at,
        )
        return Result(hit.analysis, receipt, hit.analysis_id)

    async def _record(self, request_id: str, user_id: int | None, attempts: list[Attempt]) -> None:
        async with self._sessions.begin() as session:
            record_attempts(session, request_id=request_id, user_id=user_id, attempts=attempts, now=self._now())

    def _ms_since(self, started: float) -> int:
        return int((self._clock() - started) * 1000)
