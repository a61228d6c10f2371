"""``Pipeline``: photo bytes in, ``Result`` out. Intake → cache → plate reader → register → cascade → ledger.

The one entry point the bot (or the CLI) calls. It knows nothing of Telegram; it reports progress through a
callback and asks the caller's spending guard before each cloud call. Questions and translations in words go
through the same tiers by ``textpath.py``; the pipeline only hands them on (``ask``, ``translate``).

The plate reader (``pipeline.plate``) reads every photo that gets past the cache. Its text is evidence for the
cascade's decision, it is stored with the photo, it finds a registered unit again by its serial (a plain
re-shot is answered from the register at $0; a known unit showing something new goes to the models with what
is known), and when no tier can answer it is the answer, at $0.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pipeline.analysis import PROMPT_VERSION, build_prompt, language_key
from pipeline.cache import AnalysisCache, PhotoKeys
from pipeline.cascade import Cascade, CascadeOutcome, judge
from pipeline.costs import PriceTable
from pipeline.errors import NoTierAvailable, nobody_answered
from pipeline.escalation import parse_cascade
from pipeline.events import EventCallback, notify
from pipeline.fairpool import FairPool
from pipeline.intake import Photo, cache_keys, load_photo
from pipeline.ledger import record_attempts
from pipeline.models import Photo as PhotoRow
from pipeline.models import upsert_insert
from pipeline.plate.answer import plate_answer
from pipeline.plate.evidence import Evidence
from pipeline.plate.reader import PlateReader, shared_reader
from pipeline.plate.register import KnownUnit, Register, disagreements, enrolment, news
from pipeline.plate.types import PlateReading
from pipeline.sanitize import clean_text
from pipeline.settings import PipelineSettings
from pipeline.shared import LOCAL, BreakerStore, TierSlots
from pipeline.textpath import TextPath
from pipeline.tiercall import TierCaller
from pipeline.tiers import TIER_NAMES
from pipeline.types import Analysis, Attempt, Progress, ProgressCallback, Receipt, Result, SpendingGuard, Tier

log = logging.getLogger(__name__)

MAX_PHOTOS = 4


class _Earlier(Protocol):
    """An analysis stored earlier, as a cache hit or a registered unit's last analysis shows it."""

    @property
    def tier(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def created_at(self) -> datetime: ...


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
        reader: PlateReader | None = None,
        breakers: BreakerStore = LOCAL,
        slots: TierSlots = LOCAL,
    ) -> None:
        self.settings = settings
        self.reader: PlateReader | None = None
        if settings.plate_reader:
            self.reader = reader or shared_reader(
                max_side=settings.plate_reader_max_side,
                threads=settings.plate_reader_threads,
                concurrency=settings.plate_reader_concurrency,
            )
        self.register = Register(sessions)
        self._sessions = sessions
        self._clock = clock
        self._now = now
        self.tiers = tiers
        caller = TierCaller(
            tiers, prices, cooldown_s=settings.cooldown_s, clock=clock, today=lambda: now().date(),
            on_event=on_event, breakers=breakers, slots=slots,
        )  # fmt: skip
        self.cascade = Cascade(caller, parse_cascade(settings.cascade, known=frozenset(TIER_NAMES)))
        self._intake = FairPool(settings.intake_workers)
        # CANARY_CASCADE: the candidate cascade a share of users is served by (the bot picks who; bot/quality)
        self.canary: Cascade | None = None
        if settings.canary_cascade.strip():
            # the same tiers through the same caller: one breaker and one cap per tier, whichever arm asks
            self.canary = Cascade(caller, parse_cascade(settings.canary_cascade, known=frozenset(TIER_NAMES)))
        self.cache = AnalysisCache(
            sessions,
            max_distance=settings.cache_max_distance,
            ttl=timedelta(hours=settings.cache_ttl_hours),
            prompt_version=PROMPT_VERSION,
        )
        # Questions and translations in words (pipeline/textpath.py), through the same tiers as photos.
        self.text = TextPath(self.cascade, sessions, timeout_s=settings.request_timeout_s, clock=clock, now=now)
        self.ask, self.translate = self.text.ask, self.text.translate

    async def start(self) -> None:
        count = await self.cache.load(self._now())
        log.info("cache index loaded: %d analyses", count)

    async def aclose(self) -> None:
        self._intake.close()
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
        arm: str | None = None,
    ) -> Result:
        """Analyse one request (1–4 photos of the same equipment).

        Raises ``IntakeError`` for an unusable photo, ``NoTierAvailable`` when no tier could be asked and
        ``AnalysisFailed`` when every tier asked failed. ``fresh`` skips the cache; ``replaces`` names the cached
        analysis a fresh one supersedes.
        ``language`` names the language the technician reads (e.g. "Spanish"); None or English: no instruction.
        ``arm`` "canary" serves the request with ``CANARY_CASCADE``.
        """
        if not photos:
            raise ValueError("no photo given")
        started = self._clock()
        deadline = started + self.settings.request_timeout_s
        request_id = str(uuid.uuid4())
        loaded = [await self._intake.run(user_id, functools.partial(self.load, data)) for data in photos[:MAX_PHOTOS]]

        if not fresh and replaces is None:
            await notify(progress, Progress(stage="cache"))
            hit = await self._from_cache(loaded, request_id, user_id, started, caption, language)
            if hit is not None:
                return hit

        readings = await self._read(loaded, progress)
        unit = await self.register.find(readings) if readings else None
        if unit is not None and not fresh and replaces is None and _plain_reshot(readings, caption):
            known = await self._from_register(unit, readings, loaded, request_id, user_id, started, language)
            if known is not None:
                return known

        cascade = self.canary if arm == "canary" and self.canary is not None else self.cascade
        if not cascade.steps:
            free = await self._from_plate(readings, loaded, CascadeOutcome(), request_id, user_id, started, unit)
            if free is not None:
                return free
            raise NoTierAvailable("no analysis tier is configured (set OLLAMA_HOST or a cloud API key)")
        prompt = build_prompt(caption, len(loaded), language)
        if unit is not None:
            prompt += "\n\n" + _known_context(unit)
        outcome = await cascade.run(
            [p.image for p in loaded],
            prompt,
            user_id=user_id,
            deadline=deadline,
            guard=guard,
            progress=progress,
            readings=readings,
        )
        now = self._now()
        analysis_id: int | None = None
        async with self._sessions.begin() as session:
            record_attempts(
                session, request_id=request_id, user_id=user_id, attempts=outcome.attempts, now=now, arm=arm
            )
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
                    caption=clean_text(caption) if caption else None,  # PostgreSQL text refuses NUL
                    tier=outcome.tier,
                    model=outcome.model,
                    confidence=outcome.score,
                    now=now,
                    language=language,
                )
                entry = enrolment(outcome.analysis, outcome.evidence, readings)
                if entry is not None:
                    await self.register.enroll(
                        session,
                        entry,
                        model=outcome.analysis.model,
                        equipment_type=outcome.analysis.equipment_type,
                        analysis_id=stored.id,
                        now=now,
                    )
            if readings:
                await _store_plate_text(session, loaded, readings, now)
        if stored is not None:
            analysis_id = stored.id
            self.cache.remember(stored.id, loaded[0].phash)
            if replaces is not None:
                self.cache.forget(replaces)

        if outcome.analysis is None:
            free = await self._from_plate(readings, loaded, outcome, request_id, user_id, started, unit)
            if free is not None:
                return free
            raise nobody_answered(outcome.attempts, budget_refused=outcome.budget_refused)
        await notify(progress, Progress(stage="done", tier=outcome.tier))  # "writing up": only when there is an answer
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
            evidence=outcome.evidence if readings else None,
            plate=tuple(readings),
            known_unit=unit,
        )
        return Result(outcome.analysis, receipt, analysis_id)

    async def read(self, photos: Sequence[bytes]) -> list[PlateReading]:
        """Only the plate reader, for ``plc-copilot read`` (raises ``IntakeError`` for an unusable photo)."""
        loaded = [await asyncio.to_thread(self.load, data) for data in photos]
        return await self._read(loaded, None, limit=len(loaded))

    async def _read(
        self, loaded: list[Photo], progress: ProgressCallback | None, *, limit: int = MAX_PHOTOS
    ) -> list[PlateReading]:
        if self.reader is None:
            return []
        await notify(progress, Progress(stage="plate"))
        readings: list[PlateReading] = []
        for photo in loaded[:limit]:
            try:
                readings.append(await self.reader.read(photo.image))
            except Exception:  # a broken reader must not cost the technician the model's answer
                log.exception("plate reader failed; going on without plate evidence")
                return []
        log.info("plate reader: %s", "; ".join(f"{len(r.lines)} lines in {r.duration_ms} ms" for r in readings))
        return readings

    async def _from_register(
        self,
        unit: KnownUnit,
        readings: list[PlateReading],
        loaded: list[Photo],
        request_id: str,
        user_id: int | None,
        started: float,
        language: str | None,
    ) -> Result | None:
        row = await self.register.last_analysis(unit)
        if row is None or row.language != language_key(language):  # written for another language: ask anew
            return None
        analysis = Analysis.model_validate(row.analysis)
        if analysis.fault_codes or analysis.condition in ("fault", "warning"):
            # the unit was in a fault state: a photo without a readable code may show it cleared (or the reader
            # missed the code), so the models look again rather than the register repeating an old fault
            log.info("register: unit %d was last seen in %s; asking the models", unit.id, analysis.condition)
            return None
        evidence = judge(analysis, readings)
        new = disagreements(evidence) or news(readings, unit.identifiers, await self.register.plate_text(row.photo_set))
        if new:
            # not a plain re-shot of the plate: a display's reading the reader did not take for a code (a fault
            # shown as "F07801" or "oC"), or a type code other than the one on record; the register would be stale
            log.info("register: unit %d, the photo shows more than its record (%s); asking the models", unit.id,
                     "; ".join(new)[:200])  # fmt: skip
            return None
        log.info("register hit: unit %d (%s), analysis %d", unit.id, unit.label, row.id)
        receipt = await self._given_again(
            "register", "hit_register", row, request_id, user_id, started, loaded=loaded, readings=readings,
            evidence=evidence, known_unit=unit,
        )  # fmt: skip
        await self.register.seen(unit.id, self._now())
        return Result(analysis, receipt, row.id)

    async def _from_plate(
        self,
        readings: list[PlateReading],
        loaded: list[Photo],
        outcome: CascadeOutcome,
        request_id: str,
        user_id: int | None,
        started: float,
        unit: KnownUnit | None,
    ) -> Result | None:
        """No tier answered: what the plate says, at $0 (None when it says nothing useful)."""
        analysis = plate_answer(readings)
        if analysis is None:
            return None
        log.info("no tier answered; answering with what the plate says")
        if not outcome.attempts:  # nothing was recorded yet (no tier configured)
            async with self._sessions.begin() as session:
                await _store_plate_text(session, loaded, readings, self._now())
        receipt = Receipt(
            request_id=request_id,
            source="plate",
            tier=None,
            model=None,
            confidence=0.0,
            cost_micro_usd=sum(a.cost_micro_usd for a in outcome.attempts),
            duration_ms=self._ms_since(started),
            attempts=outcome.attempts,
            budget_limited=outcome.budget_refused,
            plate=tuple(readings),
            known_unit=unit,
        )
        return Result(analysis, receipt, None)

    async def cached(
        self,
        photos: Sequence[bytes],
        *,
        caption: str | None = None,
        user_id: int | None = None,
        language: str | None = None,
    ) -> Result | None:
        """The cached answer for these photos and this caption, or None; never calls a model and never fully
        decodes a photo (for users without quota: see ``intake.cache_keys``)."""
        started = self._clock()
        limits = {"max_bytes": self.settings.max_photo_bytes, "max_pixels": self.settings.max_pixels}
        keys = [
            await self._intake.run(user_id, functools.partial(cache_keys, data, **limits))
            for data in photos[:MAX_PHOTOS]
        ]
        return await self._from_cache(keys, str(uuid.uuid4()), user_id, started, caption, language)

    async def discard(self, analysis_id: int) -> None:
        """Stop answering from this cached analysis (the bot could not deliver it; a re-send must not repeat
        the failure for 24 h)."""
        async with self._sessions.begin() as session:
            await self.cache.supersede(session, analysis_id)
        self.cache.forget(analysis_id)

    async def _from_cache(
        self,
        loaded: Sequence[PhotoKeys],
        request_id: str,
        user_id: int | None,
        started: float,
        caption: str | None,
        language: str | None,
    ) -> Result | None:
        hit = await self.cache.lookup(loaded, self._now(), caption, language)
        if hit is None:
            return None
        log.info("cache hit (%s, %d bits) analysis %d", hit.match, hit.distance, hit.analysis_id)
        receipt = await self._given_again(
            "cache", f"hit_{hit.match}", hit, request_id, user_id, started, cache_match=hit.match
        )
        return Result(hit.analysis, receipt, hit.analysis_id)

    async def _given_again(
        self,
        source: Literal["cache", "register"],
        outcome: str,
        earlier: _Earlier,
        request_id: str,
        user_id: int | None,
        started: float,
        *,
        loaded: Sequence[Photo] = (),
        readings: Sequence[PlateReading] = (),
        cache_match: Literal["exact", "near"] | None = None,
        evidence: Evidence | None = None,
        known_unit: KnownUnit | None = None,
    ) -> Receipt:
        """An earlier analysis given again at $0 (a photo seen before, a registered unit's re-shot): its one
        ledger row, what the plate reader read (when it ran), and its receipt."""
        attempt = Attempt(tier=source, provider=source, model=earlier.model, outcome=outcome)
        now = self._now()
        async with self._sessions.begin() as session:
            record_attempts(session, request_id=request_id, user_id=user_id, attempts=[attempt], now=now)
            if readings:
                await _store_plate_text(session, loaded, readings, now)
        return Receipt(
            request_id=request_id,
            source=source,
            tier=earlier.tier,
            model=earlier.model,
            confidence=earlier.confidence,
            cost_micro_usd=0,
            duration_ms=self._ms_since(started),
            attempts=[attempt],
            cache_match=cache_match,
            cached_at=earlier.created_at,
            evidence=evidence,
            plate=tuple(readings),
            known_unit=known_unit,
        )

    def _ms_since(self, started: float) -> int:
        return int((self._clock() - started) * 1000)


def _plain_reshot(readings: list[PlateReading], caption: str | None) -> bool:
    """Nothing new to ask a model about: no question in the caption, no code on a display."""
    return not (caption and caption.strip()) and not any(r.fields.codes for r in readings)


def _known_context(unit: KnownUnit) -> str:
    """What the register knows, so the model spends its answer on what is new (a fault code, a question)."""
    return (
        f"This unit is already on record (first seen {unit.first_seen_at:%Y-%m-%d}): "
        f'"{unit.label}". Use it unless the photo clearly shows otherwise, and focus on what this photo shows now.'
    )


async def _store_plate_text(
    session: AsyncSession, loaded: Sequence[Photo], readings: Sequence[PlateReading], now: datetime
) -> None:
    """Keep what the reader read with each photo (insert the photo row if the cache did not)."""
    insert = upsert_insert(session)
    for photo, reading in zip(loaded, readings, strict=False):
        text = reading.to_json()
        statement = insert(PhotoRow).values(
            sha256=photo.sha256,
            phash=photo.phash,
            width=photo.width,
            height=photo.height,
            byte_size=photo.byte_size,
            created_at=now,
            plate_text=text,
        )
        await session.execute(statement.on_conflict_do_update(index_elements=["sha256"], set_={"plate_text": text}))
