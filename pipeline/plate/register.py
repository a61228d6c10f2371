"""The equipment register: units the bot recognises again by the serial printed on their plate.

A perceptual hash cannot tell that a new photo from another angle shows a known motor; the serial on its
plate can. A unit is registered only from *confirmed* identifiers (a model's serial that the plate reader also
read), keyed by canonical manufacturer + folded serial. Each new photo's OCR tokens are looked up by that key:
measured on real plates, this matched 8–11 of 14 true photo/unit pairs and 0 of 154 false pairs
(shared/notes/OCR-FACTS.md). A photo whose plate names a different maker never matches. The database scan is
one LIKE per registered unit, fine for the thousands of units of one plant.

A unit found again is answered from the register only when the new photos are a plain re-shot of its plate:
``news`` lists what their OCR text holds beyond the unit's known text (its identifiers and what the reader read
on the photos of its last analysis). A display's reading that ``extract`` does not take for a code (a
five-digit F07801, a bare 2310, a 7-segment "oC") is such news, and so is a type code other than the one on
record: the models look at those.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pipeline.models import Equipment, StoredAnalysis, upsert_insert
from pipeline.models import Photo as PhotoRow
from pipeline.plate.evidence import Evidence, brand_of, rows_of
from pipeline.plate.extract import without_plate_wording
from pipeline.plate.normal import contains, edit_distance, fold, norm
from pipeline.plate.types import PlateReading
from pipeline.types import Analysis

MIN_SERIAL = 4


@dataclass(frozen=True)
class KnownUnit:
    id: int
    manufacturer: str  # canonical brand, "" when unknown
    serial: str
    model: str | None
    equipment_type: str | None
    analysis_id: int | None
    first_seen_at: datetime
    last_seen_at: datetime

    @property
    def asset(self) -> str:
        """The register's asset reference, carried into work orders."""
        return f"EQ-{self.id}"

    @property
    def identifiers(self) -> tuple[str, ...]:
        """What the register holds about the unit in words: maker, model, serial, type."""
        return tuple(x for x in (self.manufacturer, self.model, self.serial, self.equipment_type) if x)

    @property
    def label(self) -> str:
        name = " ".join(x for x in (self.manufacturer, self.model) if x) or (self.equipment_type or "unit")
        return f"{name}, S/N {self.serial}"


@dataclass(frozen=True)
class Enrolment:
    manufacturer: str
    serial: str


def enrolment(analysis: Analysis, evidence: Evidence, readings: Sequence[PlateReading]) -> Enrolment | None:
    """What to register for an accepted answer, or None: only a serial the plate confirmed qualifies (pure)."""
    serial = analysis.serial_number
    if serial is None or not evidence.confirmed("serial_number") or len(norm(serial)) < MIN_SERIAL:
        return None
    maker = brand_of(analysis.manufacturer) if analysis.manufacturer else None
    plate_maker = next((r.fields.manufacturer for r in readings if r.fields.manufacturer), None)
    if maker is None and analysis.manufacturer and evidence.confirmed("manufacturer"):
        maker = analysis.manufacturer.strip()
    return Enrolment(maker or plate_maker or "", serial.strip())


def haystacks(readings: Sequence[PlateReading]) -> list[str]:
    """The OCR text a registered serial is looked for in: each box, and each row of boxes."""
    lines = [line for reading in readings for line in reading.lines]
    return [line.text for line in lines] + rows_of(lines)


def news(readings: Sequence[PlateReading], identifiers: Sequence[str], read_before: Sequence[str]) -> tuple[str, ...]:
    """The OCR lines of these photos that say something the register does not know (pure); () for a re-shot.

    Known are the unit's ``identifiers`` (maker, model, serial as recorded) and the text the reader read on the
    photos of its last analysis (``read_before``). A line's labels, ratings and small print (IP code, IEC,
    cos φ, duty...) are plate wording, never news (a second shot may read a rating line the first missed).
    Each word left must be a known word, folded (O/0, I/1); a word of 5 or more may also be one character off a
    word *read before* (the reader misreads a glyph between shots) or part of a line read before (boxes split
    differently), but not one character off a recorded identifier: that is a type code or serial other than
    the one on record. Words shorter than 5 must match exactly, so "oC" or "2310" on a display is news;
    one-character words are ignored (a lone "V").
    """
    exact = {w for text in (*identifiers, *read_before) for w in _words(text)}
    fuzzy = [w for text in read_before for w in _words(text) if len(w) >= 5]
    blob = "|".join(norm(text) for text in read_before)
    # whole values, so a serial read as "46 1A4CRK" is known when recorded as "461A4CRK" (and the reverse)
    wholes = {w for text in (*identifiers, *read_before) if len(w := norm(without_plate_wording(text))) >= 4}
    new: list[str] = []
    for line in (line for reading in readings for line in reading.lines):
        rest = without_plate_wording(line.text)
        covered = _covered(rest, wholes)
        for match in re.finditer(r"\S+", rest):
            word = norm(match.group())
            if len(word) < 2 or word in exact or covered.issuperset(_folded_at(rest, match)):
                continue
            if len(word) >= 5 and (
                word in blob or any(abs(len(word) - len(w)) <= 1 and edit_distance(word, w) <= 1 for w in fuzzy)
            ):
                continue
            new.append(line.text)
            break
    return tuple(new)


def disagreements(evidence: Evidence) -> tuple[str, ...]:
    """The recorded identifiers the new photo's plate reads otherwise (near or contradicted), as "field: plate"."""
    return tuple(f"{f.field}: {f.plate}" for f in evidence.fields if f.status in ("near", "contradicted"))


def _covered(text: str, wholes: set[str]) -> set[int]:
    """Indexes of ``text`` inside an occurrence of one of the folded ``wholes``."""
    folded, covered = fold(text), set[int]()
    for whole in wholes:
        at = folded.text.find(whole)
        while at >= 0:
            covered.update(folded.origin[at : at + len(whole)])
            at = folded.text.find(whole, at + 1)
    return covered


def _folded_at(text: str, match: re.Match[str]) -> set[int]:
    return set(fold(text).origin) & set(range(match.start(), match.end()))


def _words(text: str) -> list[str]:
    return [w for w in (norm(part) for part in text.split()) if w]


class Register:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def find(self, readings: Sequence[PlateReading]) -> KnownUnit | None:
        """The registered unit whose serial appears in these photos' OCR text, as whole words."""
        texts = haystacks(readings)
        if not texts:
            return None
        # Folded serials are letters and digits only, so no LIKE wildcard can hide in them; "|" keeps the
        # boxes apart. The database finds candidates, ``contains`` checks word boundaries on the plate's text.
        blob = "|".join(norm(t) for t in texts)
        plate_maker = next((r.fields.manufacturer for r in readings if r.fields.manufacturer), None)
        query = (
            select(Equipment)
            .where(literal(blob, String()).contains(Equipment.serial_norm))
            .order_by(Equipment.last_seen_at.desc())
            .limit(20)
        )
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        for row in rows:
            if plate_maker is not None and row.manufacturer not in ("", plate_maker):
                continue  # the plate names another maker: the same number on a different unit
            if any(contains(row.serial, text) for text in texts):
                return _unit(row)
        return None

    async def enroll(
        self,
        session: AsyncSession,
        entry: Enrolment,
        *,
        model: str | None,
        equipment_type: str | None,
        analysis_id: int | None,
        now: datetime,
    ) -> None:
        """Add the unit, or point a known one at its newest analysis, in the caller's transaction."""
        insert = upsert_insert(session)
        statement = insert(Equipment).values(
            manufacturer=entry.manufacturer[:120],
            serial_norm=norm(entry.serial)[:120],
            serial=entry.serial[:120],
            model=(model or None) and model[:120],
            equipment_type=(equipment_type or None) and equipment_type[:80],
            analysis_id=analysis_id,
            first_seen_at=now,
            last_seen_at=now,
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["manufacturer", "serial_norm"],
                set_={"analysis_id": analysis_id, "last_seen_at": now, "model": statement.excluded.model},
            )
        )

    async def unit_of_analysis(self, analysis_id: int) -> KnownUnit | None:
        """The unit whose latest accepted analysis this is (a first photo enrols its unit after the answer)."""
        async with self._sessions() as session:
            row = await session.scalar(select(Equipment).where(Equipment.analysis_id == analysis_id).limit(1))
        return _unit(row) if row is not None else None

    async def seen(self, unit_id: int, now: datetime) -> None:
        async with self._sessions.begin() as session:
            await session.execute(update(Equipment).where(Equipment.id == unit_id).values(last_seen_at=now))

    async def plate_text(self, photos: Sequence[str]) -> list[str]:
        """What the plate reader read on these photos (sha256), as stored with them: one string a text box."""
        async with self._sessions() as session:
            stored = (await session.scalars(select(PhotoRow.plate_text).where(PhotoRow.sha256.in_(photos)))).all()
        return [str(line["text"]) for text in stored if text for line in text.get("lines", ())]

    async def last_analysis(self, unit: KnownUnit) -> StoredAnalysis | None:
        """The unit's latest accepted analysis, unless a re-check superseded it."""
        if unit.analysis_id is None:
            return None
        async with self._sessions() as session:
            row = await session.get(StoredAnalysis, unit.analysis_id)
        return row if row is not None and not row.superseded else None


def _unit(row: Equipment) -> KnownUnit:
    return KnownUnit(
        id=row.id,
        manufacturer=row.manufacturer,
        serial=row.serial,
        model=row.model,
        equipment_type=row.equipment_type,
        analysis_id=row.analysis_id,
        first_seen_at=row.first_seen_at,
        last_seen_at=row.last_seen_at,
    )
