"""The what-if replay: candidate cascades simulated on recorded answers with the production decide()."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.escalation import CascadeStep
from pipeline.replay import Case, TierOutcome, Verdict, candidates, evaluate, recommend, simulate, spec_of
from pipeline.types import Analysis


def a(**fields: Any) -> Analysis:
    base: dict[str, Any] = {"equipment_type": "VFD", "manufacturer": "ABB", "model": "ACS580", "confidence": 0.8}
    return Analysis.model_validate({**base, **fields})


RIGHT, WRONG = a(serial_number="S1"), a(serial_number="S7")
LOCAL_SURE = TierOutcome(0, 2000, 0.9, RIGHT)
LOCAL_UNSURE = TierOutcome(0, 2000, 0.6, WRONG)
CLOUD = TierOutcome(300, 1000, 0.85, RIGHT)
BIG = TierOutcome(2000, 3000, 0.9, RIGHT)
FAILED = TierOutcome(50, 500)


def steps(spec: str) -> list[CascadeStep]:
    out = []
    for item in spec.split(","):
        name, _, threshold = item.partition(":")
        out.append(CascadeStep(name, float(threshold) if threshold else None))
    return out


@pytest.mark.parametrize(
    ("spec", "tiers", "cost", "latency", "asked", "answer"),
    [
        ("ollama:0.8,gemini", {"ollama": LOCAL_SURE, "gemini": CLOUD}, 0, 2000, 1, LOCAL_SURE),
        ("ollama:0.8,gemini", {"ollama": LOCAL_UNSURE, "gemini": CLOUD}, 300, 3000, 2, CLOUD),
        ("ollama:0.5,gemini", {"ollama": LOCAL_UNSURE, "gemini": CLOUD}, 0, 2000, 1, LOCAL_UNSURE),
        ("ollama:0.8,gemini", {"ollama": FAILED, "gemini": CLOUD}, 350, 1500, 2, CLOUD),
        ("ollama:0.8,gemini", {"gemini": CLOUD}, 300, 1000, 1, CLOUD),  # a tier with no record is skipped
        ("ollama:0.95,gemini:0.95", {"ollama": LOCAL_SURE, "gemini": CLOUD}, 300, 3000, 2, LOCAL_SURE),  # best
        ("ollama:0.8,gemini", {"ollama": FAILED, "gemini": FAILED}, 100, 1000, 2, None),
    ],
)
def test_simulate(
    spec: str, tiers: dict[str, TierOutcome], cost: int, latency: int, asked: int, answer: TierOutcome | None
) -> None:
    run = simulate(steps(spec), Case("r", tiers))
    assert (run.cost_micro_usd, run.latency_ms, run.asked, run.answer) == (cost, latency, asked, answer)


def test_accuracy_against_each_reference_separately() -> None:
    confirmed = TierOutcome(0, 2000, 0.9, RIGHT, {"serial_number": "confirmed"})
    contradicted = TierOutcome(0, 2000, 0.9, WRONG, {"serial_number": "contradicted", "model": "confirmed"})
    cases = [
        Case("1", {"ollama": confirmed, "claude": BIG}, Verdict(RIGHT, right=True)),
        Case("2", {"ollama": contradicted, "claude": BIG}, Verdict(WRONG, right=False), label={"serial_number": "S1"}),
        Case("3", {"ollama": LOCAL_SURE, "claude": BIG}, Verdict(RIGHT, right=False)),  # shown right, said wrong
        Case("4", {"ollama": LOCAL_SURE}, Verdict(WRONG, right=False)),  # differs from a wrong one: unknown
        Case("5", {"ollama": LOCAL_SURE}, label={"serial_number": "s-1", "manufacturer": "abb"}),
    ]
    local = evaluate(steps("ollama:0.8,claude"), cases, reference="claude")
    assert (local.strongest.hits, local.strongest.judged) == (2, 3)
    assert (local.feedback.hits, local.feedback.judged) == (1, 3)
    assert (local.plate.hits, local.plate.judged) == (1, 2)
    assert (local.labels.hits, local.labels.judged) == (1, 2)
    assert (local.photos, local.cost_micro_usd, local.escalated) == (5, 0, 0)
    big = evaluate(steps("claude"), cases, reference="claude")
    assert big.strongest.value == 1.0 and big.cost_per_photo == 2000 * 3 / 5
    assert (big.feedback.hits, big.feedback.judged) == (1, 2)  # case 2: differs from a wrong answer: unknown


def test_candidates_are_cheapest_first_orders_with_every_threshold() -> None:
    found = [spec_of(s) for s in candidates(["ollama", "gemini", "claude"], max_steps=2)]
    assert found[:3] == ["ollama", "gemini", "claude"]
    assert "ollama:0.50,gemini" in found and "gemini:0.90,claude" in found and "claude:0.50,ollama" not in found
    assert len(found) == 3 + 3 * 5


def test_recommend_the_cheapest_within_the_accuracy_loss() -> None:
    cases = [Case(str(i), {"ollama": LOCAL_SURE, "gemini": CLOUD, "claude": BIG}) for i in range(8)]
    cases += [Case(str(i), {"ollama": LOCAL_UNSURE, "gemini": CLOUD, "claude": BIG}) for i in range(8, 10)]
    scores = [evaluate(s, cases, reference="claude") for s in candidates(["ollama", "gemini", "claude"])]
    strict = recommend(scores, max_loss=0.0)
    assert strict is not None and strict.spec == "ollama:0.70,gemini" and strict.strongest.value == 1.0
    assert strict.cost_per_photo == 60.0 and strict.escalation_rate == 0.2
    loose = recommend(scores, max_loss=0.25)
    assert loose is not None and loose.spec == "ollama" and loose.strongest.value == 0.8
    assert recommend(scores, max_loss=0.0, basis="labels") is None
