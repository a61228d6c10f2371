"""`plc-copilot eval` on a generated labelled folder (real tiers against fake servers that answer differently
per tier) and on the evaluation set the bot gathered from traffic, feedback included."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli.main import main
from bot.quality import feedback
from bot.quality.evaluate import ledger_cases
from bot.quality.feedback import Shown
from pipeline import Analysis, format_usd
from pipeline.ledger import record_attempts
from pipeline.models import ModelCall
from pipeline.types import Attempt
from tests.bot.test_cli import SETTINGS_VARS
from tests.conftest import make_photo
from tests.fakes.providers import FakeProviders, Text, analysis_json

PHOTOS = 6


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeProviders]:
    for name in SETTINGS_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'eval.db'}")
    monkeypatch.setenv("CASCADE", "ollama:0.8,gemini:0.7,grok:0.8,claude")
    with FakeProviders() as fake:
        for key, value in fake.settings_overrides().items():
            monkeypatch.setenv(key.upper(), str(value))
        yield fake


def answer(serial: str, confidence: float, tokens: int = 1000) -> Text:
    return Text(analysis_json(serial_number=serial, confidence=confidence), input_tokens=tokens, output_tokens=80)


def test_eval_on_a_labelled_folder_recommends_the_cheapest_accurate_cascade(
    env: FakeProviders, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "plates"
    folder.mkdir()
    labels = {}
    for i in range(PHOTOS):
        (folder / f"p{i}.jpg").write_bytes(make_photo(80 + i))
        labels[f"p{i}.jpg"] = {"manufacturer": "Allen-Bradley", "serial_number": f"SN-{i}"}
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    # The local model is right and sure on 4 plates, wrong and unsure on 2; Grok is always wrong; the rest right.
    env.script("ollama", *(answer(f"SN-{i}", 0.9) if i < 4 else answer("SN-X", 0.6) for i in range(PHOTOS)))
    env.script("gemini", *(answer(f"SN-{i}", 0.85) for i in range(PHOTOS)))
    env.script("grok", *(answer("SN-0000", 0.95) for _ in range(PHOTOS)))
    env.script("claude", *(answer(f"SN-{i}", 0.9, tokens=3000) for i in range(PHOTOS)))
    env.script("openai", *(answer(f"SN-{i}", 0.9) for i in range(PHOTOS)))

    args = [
        "--env-file",
        os.devnull,
        "eval",
        "--photos",
        str(folder),
        "--labels",
        str(tmp_path / "labels.json"),
    ]
    assert main([*args, "--max-loss", "0", "--candidate", "grok"]) == 0
    out = capsys.readouterr().out
    assert all(len(env.calls(t)) == PHOTOS for t in ("ollama", "gemini", "grok", "claude", "openai"))
    assert f"Evaluation set: {PHOTOS} photos" in out
    current = out.split("asked for:   ollama:0.80,gemini:0.70,grok:0.80,claude\n")[1].split("\n")[0]
    assert "labels 100% of 6" in current and "escalated 33%" in current
    grok = out.split("asked for:   grok\n")[1].split("\n")[0]
    assert "labels 0% of 6" in grok
    recommended = out.split("recommended:")[1].split("\n")[1:3]
    assert recommended[0].strip().startswith("ollama:0.70,"), recommended
    assert "labels 100% of 6" in recommended[1] and "escalated 33%" in recommended[1]
    with sqlite3.connect(tmp_path / "eval.db") as db:
        [(gemini,)] = db.execute("select distinct cost_micro_usd from model_calls where tier='gemini'").fetchall()
    assert gemini > 0 and f"{format_usd(round(2 * gemini / PHOTOS * 1000))} per 1000 photos" in recommended[1]

    with sqlite3.connect(tmp_path / "eval.db") as db:
        rows = db.execute("select count(*), count(distinct request_id) from model_calls where purpose='eval'")
        assert rows.fetchone() == (5 * PHOTOS, PHOTOS), "every tier's answer to every photo is kept"


def test_eval_with_nothing_to_replay_says_how_to_get_data(env: FakeProviders, capsys: Any) -> None:
    assert main(["--env-file", os.devnull, "eval", "7d"]) == 3
    assert "EVAL_SAMPLE_RATE" in capsys.readouterr().err
    assert main(["--env-file", os.devnull, "eval", "--photos", "x"]) == 2


def _attempt(tier: str, outcome: str, serial: str | None, score: float | None, cost: int) -> Attempt:
    analysis = Analysis.model_validate(
        {"equipment_type": "VFD", "manufacturer": "ABB", "model": "ACS580", "serial_number": serial, "confidence": 0.9}
    ) if serial else None  # fmt: skip
    return Attempt(tier, tier, f"{tier}-model", outcome, latency_ms=100, cost_micro_usd=cost, score=score,
                   analysis=analysis)  # fmt: skip


async def test_the_ledger_set_joins_served_and_eval_answers_with_the_technicians_verdict(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.now(UTC)
    served = [_attempt("ollama", "accepted", "S1", 0.9, 0)]
    evaluated = [_attempt("gemini", "answered", "S1", 0.8, 300), _attempt("claude", "unavailable", None, None, 0)]
    async with sessions.begin() as session:
        record_attempts(session, request_id="a", user_id=1, attempts=served, now=now)
        record_attempts(session, request_id="a", user_id=1, attempts=evaluated, now=now, purpose="eval")
        record_attempts(session, request_id="b", user_id=1, attempts=served, now=now)  # not in the sample
        shown = Shown("tok", 1, 10, 1, "a", "ollama", "ollama-model", "model", served[0].analysis)  # type: ignore[arg-type]
        session.add(feedback.ShownAnswer(
            token="tok", chat_id=1, message_id=10, user_id=1, request_id="a", source="model", tier="ollama",
            model="ollama-model", cost_micro_usd=0, analysis=served[0].analysis.model_dump(mode="json"),  # type: ignore[union-attr]
            created_at=now,
        ))  # fmt: skip
        await feedback.record(session, shown, user_id=1, kind="vote", verdict="right", detail=None, now=now)
    async with sessions() as session:
        [case] = await ledger_cases(session, None)
        assert (await session.scalar(select(ModelCall.purpose).where(ModelCall.request_id == "b"))) == "serve"
    assert case.request_id == "a" and set(case.tiers) == {"ollama", "gemini", "claude"}
    assert case.tiers["claude"].analysis is None and case.tiers["gemini"].cost_micro_usd == 300
    assert case.feedback is not None and case.feedback.right and case.feedback.shown.serial_number == "S1"
