"""The analysis cache: a photo already analysed is answered again at no cost.

Semantics:
- A request (one photo, or an album of up to 4) hits when an earlier, non-superseded analysis made under the
  same ``PROMPT_VERSION`` and younger than the TTL covers the same photos: byte-identical (same SHA-256 set,
  ``match="exact"``) or each photo within ``max_distance`` bits of pHash Hamming distance (``match="near"``).
  A near hit must be disclosed to the user: two motors of one model with different serial numbers hash alike.
- The technician's caption is part of the question: a hit also needs the same caption (compared cleaned and
  case-folded; no caption matches only no caption). Another user's caption may have asked something else, or
  tried to steer the model, and its answer must not be handed to a different question.
- So is the language the free text was written in (``language_key``): a Spanish technician is never handed a
  cached German card. Caching per language costs one analysis per language per photo; the alternative, a
  language-neutral analysis translated on every hit, would make every cache hit of a non-English user a paid
  call with its own latency and failure mode, while the photos people re-send are mostly their own crew's.
- Only accepted answers are stored; a low-confidence answer is not worth repeating for free.
- A fresh analysis the user asked for supersedes the analysis it replaces, which then stops answering.
- The near-duplicate index (``NearIndex``) lives in memory, keyed by analysis id with the first photo's pHash;
  it is rebuilt from the database at start, and ``learn`` adds what other processes stored since (a fleet's
  workers call it when PostgreSQL notifies them, bot/fleet/nearsync.py). Expired or superseded rows are
  filtered by the database query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pipeline.analysis import language_key
from pipeline.fingerprint import hamming
from pipeline.intake import Photo
from pipeline.models import Photo as PhotoRow
from pipeline.models import StoredAnalysis, upsert_insert
from pipeline.nearindex import NearIndex
from pipeline.sanitize import clean_text
from pipeline.types import Analysis


def question_key(caption: str | None) -> str:
    """What makes two captions the same question: cleaned, whitespace collapsed, case-folded."""
    return " ".join(clean_text(caption or "", multiline=False).casefold().split())


@dataclass(frozen=True)
class CacheHit:
    analysis_id: int
    analysis: Analysis
    match: Literal["exact", "near"]
    distance: int
    created_at: datetime
    tier: str
    model: str
    confidence: float


class PhotoKeys(Protocol):
    """What the cache needs of a photo: its exact key and, when it was decoded, its perceptual hash."""

    @property
    def sha256(self) -> str: ...

    @property
    def phash(self) -> int | None: ...


def _hit(row: StoredAnalysis, match: Literal["exact", "near"], distance: int) -> CacheHit:
    return CacheHit(
        analysis_id=row.id,
        analysis=Analysis.model_validate(row.analysis),
        match=match,
        distance=distance,
        created_at=row.created_at,
        tier=row.tier,
        model=row.model,
        confidence=row.confidence,
    )


class AnalysisCache:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        max_distance: int,
        ttl: timedelta,
        prompt_version: str,
    ) -> None:
        self._sessions = sessions
        self._max_distance = max_distance
        self._ttl = ttl
        self._prompt_version = prompt_version
        self._index = NearIndex()
        self._newest = 0  # the highest analysis id indexed, for learn()

    def __len__(self) -> int:
        return len(self._index)

    async def load(self, now: datetime) -> int:
        """Rebuild the in-memory index from the analyses that can still answer."""
        query = (
            select(StoredAnalysis.id, PhotoRow.phash)
            .join(PhotoRow, PhotoRow.sha256 == StoredAnalysis.photo_sha256)
            .where(*self._live(now))
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        self._index = NearIndex()
        if rows:
            self._index.add_many([r[0] for r in rows], [r[1] for r in rows])
            self._newest = max(self._newest, max(r[0] for r in rows))
        return len(rows)

    async def learn(self, now: datetime) -> int:
        """Index the analyses stored since the newest one indexed here (by other processes of a fleet)."""
        query = (
            select(StoredAnalysis.id, PhotoRow.phash)
            .join(PhotoRow, PhotoRow.sha256 == StoredAnalysis.photo_sha256)
            .where(StoredAnalysis.id > self._newest, *self._live(now))
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        for row_id, phash in rows:
            self.remember(row_id, phash)
        return len(rows)

    async def lookup(
        self, photos: Sequence[PhotoKeys], now: datetime, caption: str | None = None, language: str | None = None
    ) -> CacheHit | None:
        """The best live analysis for these photos, this caption and this language: exact bytes first, else
        within the pHash distance. A photo without a pHash (``Keys`` of a file not decoded) can only match
        exactly."""
        if not photos:
            return None
        if any(p.phash is None for p in photos):
            return await self._exact(photos, now, caption, language)
        first = photos[0].phash
        assert first is not None
        candidates = dict(self._index.nearest(first, self._max_distance))
        if not candidates:
            return None
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(StoredAnalysis).where(
                        StoredAnalysis.id.in_(candidates), *self._live(now), _in_language(language)
                    )
                )
            ).all()
            question = question_key(caption)
            rows = [r for r in rows if len(r.photo_set) == len(photos) and question_key(r.caption) == question]
            needed = {sha for row in rows for sha in row.photo_set}
            phashes: dict[str, int] = {}
            if needed:
                result = await session.execute(
                    select(PhotoRow.sha256, PhotoRow.phash).where(PhotoRow.sha256.in_(needed))
                )
                phashes = {row.sha256: row.phash for row in result}
        wanted = [p.sha256 for p in photos]
        best: tuple[tuple[int, int, float], StoredAnalysis, int] | None = None
        for row in rows:
            if any(sha not in phashes for sha in row.photo_set):
                continue
            distances = [hamming(p.phash or 0, phashes[sha]) for p, sha in zip(photos, row.photo_set, strict=True)]
            if max(distances) > self._max_distance:
                continue
            exact = row.photo_set == wanted
            rank = (0 if exact else 1, max(distances), -row.created_at.timestamp())
            if best is None or rank < best[0]:
                best = (rank, row, max(distances))
        if best is None:
            return None
        _, row, distance = best
        return _hit(row, "exact" if best[0][0] == 0 else "near", distance)

    async def _exact(
        self, photos: Sequence[PhotoKeys], now: datetime, caption: str | None, language: str | None
    ) -> CacheHit | None:
        wanted, question = [p.sha256 for p in photos], question_key(caption)
        query = (
            select(StoredAnalysis)
            .where(StoredAnalysis.photo_sha256 == wanted[0], *self._live(now), _in_language(language))
            .order_by(StoredAnalysis.created_at.desc())
        )
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        for row in rows:
            if row.photo_set == wanted and question_key(row.caption) == question:
                return _hit(row, "exact", 0)
        return None

    async def store(
        self,
        session: AsyncSession,
        photos: Sequence[Photo],
        analysis: Analysis,
        *,
        request_id: str,
        caption: str | None,
        tier: str,
        model: str,
        confidence: float,
        now: datetime,
        language: str | None = None,
    ) -> StoredAnalysis:
        """Add the photos (idempotently) and the analysis in the caller's transaction; call ``remember`` after
        the commit so the index never points at a row that was rolled back."""
        insert = upsert_insert(session)
        for photo in photos:
            await session.execute(
                insert(PhotoRow)
                .values(
                    sha256=photo.sha256,
                    phash=photo.phash,
                    width=photo.width,
                    height=photo.height,
                    byte_size=photo.byte_size,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["sha256"])
            )
        row = StoredAnalysis(
            request_id=request_id,
            photo_sha256=photos[0].sha256,
            photo_set=[p.sha256 for p in photos],
            prompt_version=self._prompt_version,
            caption=caption,
            language=language_key(language),
            analysis=analysis.model_dump(mode="json"),
            tier=tier,
            model=model,
            confidence=confidence,
            low_confidence=False,
            created_at=now,
        )
        session.add(row)
        await session.flush()
        return row

    def remember(self, analysis_id: int, phash: int) -> None:
        self._index.add(analysis_id, phash)
        self._newest = max(self._newest, analysis_id)

    async def supersede(self, session: AsyncSession, analysis_id: int) -> None:
        await session.execute(update(StoredAnalysis).where(StoredAnalysis.id == analysis_id).values(superseded=True))

    def forget(self, analysis_id: int) -> None:
        self._index.remove(analysis_id)

    def _live(self, now: datetime) -> tuple[Any, ...]:
        return (
            StoredAnalysis.superseded.is_(False),
            StoredAnalysis.prompt_version == self._prompt_version,
            StoredAnalysis.created_at >= now - self._ttl,
        )


def _in_language(language: str | None) -> Any:
    key = language_key(language)
    return StoredAnalysis.language.is_(None) if key is None else StoredAnalysis.language == key
