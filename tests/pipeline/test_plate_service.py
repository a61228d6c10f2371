"""The pipeline with the plate reader really running: evidence in the decision, the free answer, the register.

Real tiers (real SDKs) against fake provider servers, a migrated SQLite database, the session's OCR engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pipeline import NoTierAvailable, Pipeline, PriceTable, build_tiers
from pipeline import parse_cascade_names as names_of
from pipeline.models import Equipment, ModelCall
from pipeline.models import Photo as PhotoRow
from tests.conftest import make_photo
from tests.fakes.providers import FakeProviders, good
from tests.plate import MemoReader, Plate, render

SIEMENS = Plate(("SIEMENS", "TYPE 1LE1001-1DB23-4AA4", "S/N UD 1402/1234567-001", "7.5 kW 400 V 50 Hz"))
# The same unit photographed again: another background, another angle (no perceptual-hash match).
SIEMENS_AGAIN = Plate(SIEMENS.lines, background="defective_a_f_1.jpg", angle=3)
SIEMENS_FAULT = Plate((*SIEMENS.lines, "Fault F004"), background="normal_a_g_10.jpg")
# A Siemens drive shows a fault as a five-digit F-number, which the reader does not take for a code.
SIEMENS_DISPLAY = Plate((*SIEMENS.lines, "F07801"), background="normal_a_g_10.jpg", angle=-2)
# A closer shot that also reads the plate's small print (standard, duty, efficiency class): still the plate.
SIEMENS_SMALL_PRINT = Plate((*SIEMENS.lines, "IEC 60034-1 S1 IE3"), background="defective_a_f_1.jpg", angle=3)
TRUE = {"manufacturer": "Siemens", "model": "1LE1001-1DB23-4AA4", "serial_number": "UD 1402/1234567-001"}


@dataclass
class RefusingGuard:
    asked: list[str] = field(default_factory=list)

    async def reserve(self, *, user_id: int | None, provider: str, estimate_micro_usd: int) -> object | None:
        self.asked.append(provider)
        return None

    async def settle(self, reservation: object, actual_micro_usd: int) -> None:
        raise AssertionError("nothing was reserved")


@dataclass
class Bench:
    fake: FakeProviders
    sessions: async_sessionmaker[AsyncSession]
    reader: MemoReader
    pipelines: list[Pipeline] = field(default_factory=list)

    async def pipeline(self, **settings: Any) -> Pipeline:
        config = self.fake.settings(cloud_timeout_s=2.0, ollama_timeout_s=2.0, plate_reader=True, **settings)
        pipeline = Pipeline(
            config, self.sessions, build_tiers(config, names_of(config.cascade)), PriceTable.load(), reader=self.reader
        )
        await pipeline.start()
        self.pipelines.append(pipeline)
        return pipeline

    async def rows(self, model: Any) -> list[Any]:
        async with self.sessions() as session:
            return list((await session.scalars(select(model))).all())


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as providers:
        yield providers


@pytest.fixture
async def b(
    fake: FakeProviders, sessions: async_sessionmaker[AsyncSession], plate_reader: MemoReader
) -> AsyncIterator[Bench]:
    bench = Bench(fake, sessions, plate_reader)
    yield bench
    for pipeline in bench.pipelines:
        await pipeline.aclose()


async def test_a_serial_confirmed_on_the_plate_is_accepted_without_a_cloud_call(b: Bench) -> None:
    b.fake.script("ollama", good(**TRUE, confidence=0.65))  # alone, 0.65 would go on to the cloud
    result = await (await b.pipeline(cascade="ollama:0.8,gemini")).analyze([render(SIEMENS)])
    assert result.receipt.tier == "ollama" and not b.fake.calls("gemini")
    evidence = result.receipt.evidence
    assert evidence is not None
    assert [evidence.status(f) for f in ("manufacturer", "model", "serial_number")] == ["confirmed"] * 3
    assert evidence.status("fault_code") == "absent"  # F004 is not on this plate: no cost, no confirmation
    photos = await b.rows(PhotoRow)
    assert photos[0].plate_text is not None and "S/N UD 1402/1234567-001" in str(photos[0].plate_text)
    units = await b.rows(Equipment)
    assert [(u.manufacturer, u.serial_norm) for u in units] == [("Siemens", "UD14021234567001")]


async def test_a_contradicted_serial_escalates_even_when_confident(b: Bench) -> None:
    b.fake.script("ollama", good(**{**TRUE, "serial_number": "98765432"}, confidence=0.95))
    b.fake.script("gemini", good(**TRUE, confidence=0.8))
    result = await (await b.pipeline(cascade="ollama:0.8,gemini")).analyze([render(SIEMENS)])
    assert result.receipt.tier == "gemini"
    calls = await b.rows(ModelCall)
    assert [(c.tier, c.outcome) for c in calls] == [("ollama", "escalated"), ("gemini", "accepted")]
    assert result.receipt.evidence is not None and result.receipt.evidence.confirmed("serial_number")
    # every tier's answer keeps the plate's verdict on it (accuracy by tier, the evaluation replay)
    assert calls[0].evidence is not None and calls[0].evidence["serial_number"] == "contradicted"
    assert calls[1].evidence is not None and calls[1].evidence["serial_number"] == "confirmed"


async def test_near_miss_names_the_character(b: Bench) -> None:
    b.fake.script("gemini", good(**{**TRUE, "serial_number": "UD 1402/1234567-007"}, confidence=0.9))
    result = await (await b.pipeline(cascade="gemini")).analyze([render(SIEMENS)])
    assert result.receipt.evidence is not None
    near = result.receipt.evidence.get("serial_number")
    assert near is not None and near.status == "near"
    assert (near.position, near.claimed_char, near.plate_char) == (19, "7", "1")
    assert await b.rows(Equipment) == [], "only a confirmed serial enters the register"


async def test_when_no_tier_can_answer_the_plate_does_for_free(b: Bench) -> None:
    guard = RefusingGuard()
    pipeline = await b.pipeline(cascade="gemini:0.7,claude")
    result = await pipeline.analyze([render(SIEMENS)], guard=guard)
    assert guard.asked == ["google", "anthropic"] and not b.fake.calls("gemini")
    assert result.receipt.source == "plate" and result.receipt.cost_micro_usd == 0
    assert result.receipt.budget_limited
    analysis = result.analysis
    assert (analysis.manufacturer, analysis.model, analysis.serial_number) == (
        "Siemens",
        "1LE1001-1DB23-4AA4",
        "1402/1234567-001",
    )
    assert analysis.ratings["power"] == "7.5 kW"
    with pytest.raises(NoTierAvailable):  # nothing on the photo to read: the apology stays
        await pipeline.analyze([make_photo(7)], guard=guard)


async def test_a_known_unit_is_recognised_by_its_serial(b: Bench) -> None:
    b.fake.script("gemini", good(**TRUE, fault_codes=[], condition="normal", confidence=0.9))
    pipeline = await b.pipeline(cascade="gemini")
    first = await pipeline.analyze([render(SIEMENS)])
    assert first.receipt.source == "model" and first.analysis_id is not None

    again = await pipeline.analyze([render(SIEMENS_AGAIN)])  # another photo of the same plate
    assert again.receipt.source == "register" and again.receipt.cost_micro_usd == 0
    assert len(b.fake.calls("gemini")) == 1, "a plain re-shot costs no model call"
    assert again.analysis_id == first.analysis_id and again.receipt.known_unit is not None
    assert again.receipt.known_unit.serial == "UD 1402/1234567-001"

    b.fake.script("gemini", good(**TRUE, fault_codes=["F004"], confidence=0.9))
    fault = await pipeline.analyze([render(SIEMENS_FAULT)])  # the same unit, now showing a fault
    assert fault.receipt.source == "model" and fault.receipt.known_unit is not None
    prompt = str(b.fake.calls("gemini")[-1].json())
    assert "already on record" in prompt and "1402/1234567-001" in prompt


async def test_a_unit_last_seen_in_a_fault_is_looked_at_again_not_answered_from_the_register(b: Bench) -> None:
    """Measured by bench workload: most wrong register answers repeated the unit's previous fault state (the
    fault had cleared, or the reader missed the code on the display)."""
    b.fake.script("gemini", good(**TRUE, fault_codes=["F004"], condition="fault", confidence=0.9))
    pipeline = await b.pipeline(cascade="gemini")
    await pipeline.analyze([render(SIEMENS)])
    b.fake.script("gemini", good(**TRUE, fault_codes=[], condition="normal", confidence=0.9))
    again = await pipeline.analyze([render(SIEMENS_AGAIN)])  # no code readable on this shot
    assert again.receipt.source == "model" and again.analysis.condition == "normal"
    assert again.receipt.known_unit is not None and len(b.fake.calls("gemini")) == 2


async def test_a_known_unit_showing_a_display_reading_goes_to_the_models_its_plate_again_does_not(b: Bench) -> None:
    """Measured by bench workload: a unit last seen normal whose new photo showed a fault the reader did not
    read as a code was answered "normal" from the register. The register answers only a plain re-shot now."""
    b.fake.script("gemini", good(**TRUE, fault_codes=[], condition="normal", confidence=0.9))
    pipeline = await b.pipeline(cascade="gemini")
    first = await pipeline.analyze([render(SIEMENS)])
    assert first.receipt.source == "model"

    again = await pipeline.analyze([render(SIEMENS_SMALL_PRINT)])  # more of the plate read: nothing new
    assert again.receipt.source == "register" and again.receipt.cost_micro_usd == 0
    assert again.analysis_id == first.analysis_id and len(b.fake.calls("gemini")) == 1

    b.fake.script("gemini", good(**TRUE, fault_codes=["F07801"], condition="fault", confidence=0.9))
    shown = await pipeline.analyze([render(SIEMENS_DISPLAY)])
    assert not any(r.fields.codes for r in shown.receipt.plate), "the reader does not read F07801 as a code"
    assert any("F07801" in line.text for r in shown.receipt.plate for line in r.lines)
    assert shown.receipt.source == "model" and shown.receipt.known_unit is not None
    assert shown.analysis.fault_codes == ["F07801"] and len(b.fake.calls("gemini")) == 2


async def test_a_re_check_asks_the_models_even_for_a_known_unit(b: Bench) -> None:
    b.fake.set_default("gemini", good(**TRUE, fault_codes=[], confidence=0.9))
    pipeline = await b.pipeline(cascade="gemini")
    first = await pipeline.analyze([render(SIEMENS)])
    fresh = await pipeline.analyze([render(SIEMENS_AGAIN)], fresh=True, replaces=first.analysis_id)
    assert fresh.receipt.source == "model" and len(b.fake.calls("gemini")) == 2


async def test_reader_off_reads_nothing(b: Bench) -> None:
    b.fake.script("gemini", good(**TRUE, confidence=0.9))
    config = b.fake.settings(plate_reader=False, cascade="gemini")
    pipeline = Pipeline(config, b.sessions, build_tiers(config, ["gemini"]), PriceTable.load(), reader=b.reader)
    runs = b.reader.runs
    result = await pipeline.analyze([render(Plate(("S/N 1234567",)))])
    await pipeline.aclose()
    assert result.receipt.evidence is None and result.receipt.plate == ()
    assert b.reader.runs == runs and pipeline.reader is None
