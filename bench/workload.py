"""``python -m bench workload``: one plant's week of photos through the real pipeline, against sending every
photo to ``COST_BASELINE_MODEL`` alone.

The traffic (seeded): 120 nameplates of a plant, 150 photos over 7 days (25 a weekday, 12 a weekend day).
Each photo is, by the weights below, a *re-sent* photo (the same bytes again: forwarded to a colleague, sent
twice because the first answer was slow), a *new shot of a unit already photographed* this week (another angle
and background; some show a fault code on the display, which a model must read), or a *new unit*. The week
starts with an empty cache and register, so the figures are those of a first week (a later week re-meets
more units).

What is real: intake, fingerprints and the near-duplicate cache, the equipment register, plate evidence, the
cascade and ``decide``, the ledger and price table, and each tier's SDK against the loopback fake servers. What
is simulated, and how:
- *the providers' answers*: per photo and tier a seeded draw from that tier's quality profile (``QUALITY``:
  share of answers with every identifier right, and the confidence the model reports when right or wrong).
  No evaluation set from real traffic exists yet; the profiles follow published text-reading scores of the
  default models (OCRBench/DocVQA, shared/notes/MODELS-2026-11.md). Replace them with ``/whatif`` figures once
  ``EVAL_SAMPLE_RATE`` has run on a plant.
- *the bill*: each fake reports the usage the real API would, from its own rules: image tokens of the size
  the tier really sends (``prepare.fit_size`` + ``imagetokens``), prompt and answer text at ~4 characters a
  token (+30 % for Claude Haiku 5.5's tokenizer); the pipeline prices it with the dated price table.
- *the displays*: a fault shot adds one line, the fault as that maker's drive displays it (``DISPLAYS``); the
  OCR reads it like any other line, and ``extract`` takes about half of the forms for a code.
- *the OCR*: ``BenchReader`` returns the text printed on each rendered plate instead of running the ONNX
  engine (~1 s/photo idle, ~10 s loaded: ``bench plate``), missing each line with the recall measured on real
  plates (about a third of true values missed, shared/notes/OCR-FACTS.md); extraction, evidence and the
  register run as in production.

Accuracy is agreement (``pipeline.agreement``) of the answer shown with the truth of the unit photographed.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import random
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from bench._common import print_table
from bot.runtime.db import make_engine, make_sessionmaker, upgrade
from pipeline import Analysis, Pipeline, PriceTable, build_tiers, format_usd
from pipeline import parse_cascade_names as names_of
from pipeline.agreement import disagreement
from pipeline.analysis import build_prompt
from pipeline.imagetokens import estimate_image_tokens
from pipeline.plate import PlateReader, PlateReading
from pipeline.plate.extract import extract
from pipeline.plate.types import OcrLine
from pipeline.prepare import fit_size
from pipeline.settings import PipelineSettings
from pipeline.tiers import claude, gemini, ollama, openai_compat
from tests.fakes.providers import FakeProviders, Text, analysis_json
from tests.plate import INSPECTION, Plate, render

SEED = 13
UNITS = 120
DAYS = (25, 25, 25, 25, 25, 12, 13)
KINDS = {"re-sent": 0.18, "known unit, new shot": 0.37, "new unit": 0.45}
FAULT_SHOWN = 0.15  # a new shot of a known unit with a fault code on its display: a model must read it
LINE_RECALL = 0.67  # OCR reads a printed line (OCR-FACTS: about a third of true values missed)
MAKERS = ("SIEMENS", "ABB", "WEG", "DANFOSS", "YASKAWA", "SCHNEIDER ELECTRIC", "ALLEN-BRADLEY", "LENZE")
# How each maker's drive shows a fault on its display (the forms of their manuals). About half of them the plate
# reader does not take for a code (``extract`` reads F070, GF, OCF, F12, OC1 and "ALARM 14"; not a five-digit
# F07801, a bare 2310, a 7-segment lower-case oC/oH1, SCF1): the display's text is read, but not as a code.
DISPLAYS = {
    "SIEMENS": ("F07801", "F30001", "F07011"), "ABB": ("2310", "3130", "4210"), "WEG": ("F070", "F021", "F048"),
    "DANFOSS": ("ALARM 14", "ALARM 13", "ALARM 8"), "YASKAWA": ("oC", "oH1", "GF", "oL1"),
    "SCHNEIDER ELECTRIC": ("OCF", "SCF1", "OHF", "OSF"), "ALLEN-BRADLEY": ("F7", "F12", "F64"), "LENZE": ("OC1", "OU1"),
}  # fmt: skip
# tier → (share of answers with every identifier right, confidence reported when right, when wrong)
QUALITY = {
    "ollama": (0.72, (0.70, 0.95), (0.60, 0.92)),  # granite3.2-vision:2b: OCRBench 0.77
    "gemini": (0.88, (0.75, 0.96), (0.55, 0.88)),  # gemini-2.5-flash-lite
    "claude": (0.93, (0.80, 0.97), (0.55, 0.85)),  # claude-haiku-5-5 (also the baseline)
    "grok": (0.95, (0.82, 0.98), (0.50, 0.85)),  # grok-4.3
}
PROVIDER = {"ollama": "ollama", "gemini": "gemini", "claude": "anthropic", "grok": "xai"}
POLICY = {"ollama": ollama.IMAGE_POLICY, "gemini": gemini.IMAGE_POLICY, "claude": claude.IMAGE_POLICY,
          "grok": openai_compat.IMAGE_POLICY}  # fmt: skip
DEFAULT = "ollama:0.80,gemini:0.70,claude:0.80,grok"  # PipelineSettings.cascade
# (configuration, CASCADE, plate reader and register on)
CONFIGURATIONS = (
    ("CASCADE default, cache + register", DEFAULT, True),
    ("CASCADE default, cache only", DEFAULT, False),
    ("gemini:0.70,claude, cache + register", "gemini:0.70,claude", True),
    ("gemini:0.85,claude, cache only", "gemini:0.85,claude", False),
    ("claude alone, cache only", "claude", False),
)


@dataclass(frozen=True)
class Unit:
    maker: str
    model: str
    serial: str

    def truth(self, fault: str | None) -> Analysis:
        return Analysis(equipment_type="motor", manufacturer=self.maker.title(), model=self.model,
                        serial_number=self.serial, fault_codes=[fault] if fault else [], confidence=1.0,
                        condition="fault" if fault else "normal")  # fmt: skip

    def lines(self, fault: str | None) -> tuple[str, ...]:
        return (self.maker, f"TYPE {self.model}", f"S/N {self.serial}", "7.5 kW 400 V 50 Hz",
                *((fault,) if fault else ()))  # fmt: skip


@dataclass
class Shot:
    n: int
    day: int
    kind: str
    unit: Unit
    fault: str | None
    data: bytes
    read: tuple[str, ...]  # the lines the simulated OCR reads


@dataclass
class Tally:
    photos: int = 0
    cost: int = 0
    right: int = 0
    sources: Counter[str] = field(default_factory=Counter)
    asked: int = 0  # photos a model was asked about
    escalated: int = 0  # of those, photos that needed a second tier
    right_by: Counter[str] = field(default_factory=Counter)  # accurate answers per source ("model" by tier)
    by: Counter[str] = field(default_factory=Counter)


def make_units(rng: random.Random) -> list[Unit]:
    def code(k: int) -> str:
        return "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(k))

    return [Unit(rng.choice(MAKERS), f"{code(3)}-{code(4)}", f"{code(2)} {code(6)}") for _ in range(UNITS)]


def make_week(rng: random.Random) -> list[Shot]:
    units, seen, shots = make_units(rng), [], []  # type: ignore[var-annotated]
    backgrounds = sorted(p.name for p in INSPECTION.glob("*.jpg")) or ["absent.jpg"]  # absent: a grey card
    for day, count in enumerate(DAYS):
        for _ in range(count):
            kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
            recent = [s for s in shots if s.day >= day - 1]
            if kind == "re-sent" and recent:
                first = rng.choice(recent)
                shots.append(Shot(len(shots), day, kind, first.unit, first.fault, first.data, first.read))
                continue
            if kind != "new unit" and seen:
                unit, kind = rng.choice(seen), "known unit, new shot"
            else:
                unit, kind = units[len(seen)], "new unit"
                seen.append(unit)
            fault = f"F0{rng.randint(10, 99)}" if kind != "new unit" and rng.random() < FAULT_SHOWN else None
            if fault:  # the display's own form, from a draw of its own (the week is the same as before)
                fault = random.Random(f"{SEED}:display:{len(shots)}").choice(DISPLAYS[unit.maker])
            plate = Plate(unit.lines(fault), background=rng.choice(backgrounds), angle=rng.uniform(-5, 5),
                          scale=rng.uniform(1.2, 1.8))  # fmt: skip
            read = tuple(line for line in unit.lines(fault) if rng.random() < LINE_RECALL)
            shots.append(Shot(len(shots), day, kind, unit, fault, _framed(render(plate), rng), read))
    return shots


def _framed(data: bytes, rng: random.Random) -> bytes:
    """Another framing of the same scene (a step closer, a little to the side), as a second shot would be."""
    with Image.open(io.BytesIO(data)) as image:
        share = rng.uniform(0.8, 0.92)
        w, h = round(image.width * share), round(image.height * share)
        left, top = rng.randint(0, image.width - w), rng.randint(0, image.height - h)
        framed = image.crop((left, top, left + w, top + h)).resize(image.size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    framed.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


class BenchReader(PlateReader):
    """The text printed on each rendered photo, less the lines the OCR would miss (see the module doc)."""

    def __init__(self) -> None:
        super().__init__()
        self.printed: dict[str, tuple[str, ...]] = {}

    def learn(self, image: Image.Image, lines: tuple[str, ...]) -> None:
        self.printed[_key(image)] = lines

    def read_sync(self, image: Image.Image) -> PlateReading:
        boxes = [OcrLine(text, 0.96, ((40.0, y), (600.0, y), (600.0, y + 40), (40.0, y + 40)))
                 for y, text in zip(itertools.count(0.0, 60.0), self.printed.get(_key(image), ()))]  # fmt: skip
        return PlateReading(tuple(boxes), extract(boxes), 0)


def _key(image: Image.Image) -> str:
    return hashlib.sha256(image.tobytes()).hexdigest()


def answer(shot: Shot, tier: str, settings: PipelineSettings, size: tuple[int, int]) -> Text:
    """What ``tier`` says about ``shot`` (a seeded draw from its profile), billed as that provider would."""
    rng = random.Random(f"{SEED}:{shot.n}:{tier}")
    p_right, when_right, when_wrong = QUALITY[tier]
    right = rng.random() < p_right
    truth = shot.unit
    serial, model = truth.serial, truth.model
    if not right:  # the commonest misreads: one character of the serial, or of the type code
        if rng.random() < 0.7:
            at = rng.randrange(len(serial))
            serial = serial[:at] + ("8" if serial[at] != "8" else "B") + serial[at + 1 :]
        else:
            model = model[:-1] + ("7" if model[-1] != "7" else "1")
    confidence = round(rng.uniform(*(when_right if right else when_wrong)), 2)
    body = analysis_json(equipment_type="motor", manufacturer=truth.maker.title(), model=model, serial_number=serial,
                         fault_codes=[shot.fault] if shot.fault else [], condition="fault" if shot.fault else "normal",
                         priority="medium", confidence=confidence)  # fmt: skip
    provider, name = PROVIDER[tier], getattr(settings, f"{PROVIDER[tier]}_model")
    text_factor = 1.3 if tier == "claude" else 1.0
    image = estimate_image_tokens(provider, name, *fit_size(*size, POLICY[tier]))
    prompt = round(len(build_prompt(None, 1)) / 4 * text_factor)
    return Text(body, input_tokens=prompt + image, output_tokens=round(len(body) / 4 * text_factor))


async def run_week(shots: list[Shot], cascade: str, *, reader: bool, fresh: bool) -> Tally:
    tally = Tally()
    with tempfile.TemporaryDirectory() as folder, FakeProviders() as fake:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'week.db'}"
        await asyncio.to_thread(upgrade, url)
        engine = make_engine(url)
        settings = fake.settings(cascade=cascade, plate_reader=reader, cloud_timeout_s=10.0, ollama_timeout_s=10.0)
        bench_reader = BenchReader()
        pipeline = Pipeline(settings, make_sessionmaker(engine), build_tiers(settings, names_of(cascade)),
                            PriceTable.load(), reader=bench_reader)  # fmt: skip
        await pipeline.start()
        try:
            for shot in shots:
                loaded = await asyncio.to_thread(pipeline.load, shot.data)
                bench_reader.learn(loaded.image, shot.read)
                for tier in QUALITY:
                    fake.set_default(PROVIDER[tier], answer(shot, tier, settings, loaded.image.size))
                result = await pipeline.analyze([shot.data], user_id=1, fresh=fresh)
                receipt = result.receipt
                tally.photos += 1
                tally.cost += receipt.cost_micro_usd
                tally.sources[receipt.source] += 1
                right = not disagreement(result.analysis, shot.unit.truth(shot.fault))
                tally.right += right
                where = receipt.source if receipt.source != "model" else f"model: {receipt.tier}"
                tally.by[where] += 1
                tally.right_by[where] += right
                if receipt.source == "model":
                    tally.asked += 1
                    tally.escalated += sum(a.analysis is not None for a in receipt.attempts) > 1
        finally:
            await pipeline.aclose()
            await engine.dispose()
    return tally


def _row(name: str, t: Tally, baseline: Tally) -> list[object]:
    saving = 1 - t.cost / baseline.cost if baseline.cost else 0.0
    return [
        name, format_usd(round(t.cost * 1000 / t.photos)), f"{saving:.0%}" if t is not baseline else "—",
        f"{t.sources['cache'] / t.photos:.0%}", f"{t.sources['register'] / t.photos:.0%}",
        f"{t.escalated / t.asked:.0%} of {t.asked}" if t.asked else "–", f"{t.right / t.photos:.1%}",
    ]  # fmt: skip


async def _all() -> tuple[list[Shot], list[list[object]], list[list[object]]]:
    shots = make_week(random.Random(SEED))
    baseline_model = "claude"  # COST_BASELINE_MODEL's default, claude-haiku-5-5, is the Claude tier's model
    baseline = await run_week(shots, baseline_model, reader=False, fresh=True)
    runs = {"every photo to COST_BASELINE_MODEL (claude-haiku-5-5)": baseline}
    for name, cascade, reader in CONFIGURATIONS:
        runs[name] = await run_week(shots, cascade, reader=reader, fresh=False)
    rows = [_row(name, t, baseline) for name, t in runs.items()]
    where = [[name, source, n, f"{t.right_by[source] / n:.0%}"] for name, t in runs.items() for source, n in
             sorted(t.by.items())]  # fmt: skip
    return shots, rows, where


def run(*_: Any) -> None:
    shots, rows, where = asyncio.run(_all())
    kinds = Counter(s.kind for s in shots)
    print(f"{len(shots)} photos over {len(DAYS)} days: " + ", ".join(f"{k} {v}" for k, v in kinds.items())
          + f"; {sum(1 for s in shots if s.fault)} show a fault code")  # fmt: skip
    print_table(
        "A plant's first week: cost per photo, hit rates, escalation and accuracy vs every photo to the baseline",
        ["configuration", "$/1000 photos", "saving", "cache hits", "register hits", "escalated", "accurate"],
        rows,
    )
    print_table("Where the answers came from, and how often each was right", ["configuration", "answered by",
                "photos", "accurate"], where)  # fmt: skip
