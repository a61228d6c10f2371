import pytest

from pipeline.escalation import DEFAULT_THRESHOLD, CascadeStep, decide, parse_cascade, score
from pipeline.plate.evidence import Evidence, FieldEvidence, Status
from pipeline.types import Analysis

KNOWN = frozenset({"ollama", "gemini", "grok", "claude", "openai"})


def make(**overrides: object) -> Analysis:
    base: dict[str, object] = {
        "equipment_type": "VFD",
        "manufacturer": "Allen-Bradley",
        "model": "PowerFlex 525",
        "serial_number": None,
        "ratings": {"voltage": "480 V"},
        "fault_codes": ["F004"],
        "condition": "fault",
        "summary": "Drive tripped on undervoltage fault F004.",
        "priority": "high",
        "confidence": 0.9,
    }
    base.update(overrides)
    return Analysis.model_validate(base)


@pytest.mark.parametrize(
    ("overrides", "expected", "reasons"),
    [
        ({}, 0.9, ()),
        ({"model": None}, 0.75, ("manufacturer_without_model",)),
        ({"manufacturer": None}, 0.8, ("model_without_manufacturer",)),
        ({"summary": ""}, 0.7, ("empty_summary",)),
        (
            {"manufacturer": None, "model": None, "ratings": {}, "fault_codes": [], "condition": "unknown"},
            0.6,
            ("read_nothing",),
        ),
        ({"equipment_type": "unknown"}, 0.7, ("unknown_equipment",)),
        ({"fault_codes": [], "summary": "Fault."}, 0.75, ("fault_without_code_or_summary",)),
        ({"priority": "urgent", "condition": "normal"}, 0.8, ("urgent_but_normal",)),
        ({"confidence": 0.1, "summary": "", "model": None}, 0.0, ("empty_summary", "manufacturer_without_model")),
    ],
)
def test_score_weighs_confidence_and_work_order_fields(
    overrides: dict[str, object], expected: float, reasons: tuple[str, ...]
) -> None:
    result = score(make(**overrides))
    assert result.value == pytest.approx(expected)
    assert result.reasons == reasons


@pytest.mark.parametrize(
    ("outcome", "score_", "threshold", "tiers_left", "seconds_left", "action"),
    [
        ("valid", 0.85, 0.80, 2, 30.0, "accept"),
        ("valid", 0.80, 0.80, 2, 30.0, "accept"),
        ("valid", 0.79, 0.80, 2, 30.0, "escalate"),
        ("valid", 0.10, None, 0, 30.0, "accept"),  # last tier: any valid answer
        ("valid", 0.60, 0.70, 0, 30.0, "stop"),  # below threshold, nothing left
        ("valid", 0.60, 0.70, 2, 0.5, "stop"),  # below threshold, no time left
        ("error", None, 0.70, 1, 30.0, "escalate"),
        ("error", None, None, 0, 30.0, "stop"),
        ("error", None, 0.70, 3, 0.0, "stop"),
    ],
)
def test_decide(
    outcome: str, score_: float | None, threshold: float | None, tiers_left: int, seconds_left: float, action: str
) -> None:
    verdict = decide(
        outcome=outcome,  # type: ignore[arg-type]
        score=score_,
        threshold=threshold,
        tiers_left=tiers_left,
        seconds_left=seconds_left,
    )
    assert verdict.action == action


def evidence(*items: tuple[str, Status]) -> Evidence:
    return Evidence(tuple(FieldEvidence(field, "x", status) for field, status in items), read=True)


@pytest.mark.parametrize(
    ("confidence", "items", "expected", "reasons"),
    [
        (0.9, (), 0.9, ()),  # the plate read, nothing claimed to check: the model's word alone
        (0.6, (("serial_number", "confirmed"),), 0.8, ("plate_confirms_serial_number",)),
        (0.6, (("model", "confirmed"), ("manufacturer", "confirmed")), 0.8, None),
        (0.5, (("serial_number", "confirmed"), ("model", "confirmed")), 0.85, None),
        (0.9, (("serial_number", "contradicted"),), 0.55, ("plate_contradicts_serial_number",)),
        (0.9, (("serial_number", "near"),), 0.85, ("plate_near_serial_number",)),
        (0.9, (("serial_number", "absent"), ("model", "absent")), 0.9, ()),  # absence costs nothing
        (0.7, (("fault_code", "confirmed"), ("fault_code", "confirmed")), 0.75, None),  # one bonus per field
        (0.95, (("serial_number", "confirmed"), ("model", "confirmed")), 1.0, None),  # capped
    ],
)
def test_plate_evidence_moves_the_score(
    confidence: float, items: tuple[tuple[str, Status], ...], expected: float, reasons: tuple[str, ...] | None
) -> None:
    result = score(make(confidence=confidence), evidence(*items))
    assert result.value == pytest.approx(expected)
    if reasons is not None:
        assert result.reasons == reasons


@pytest.mark.parametrize(
    ("score_", "threshold", "tiers_left", "seconds_left", "contradicted", "action"),
    [
        (0.95, 0.80, 2, 30.0, True, "escalate"),  # confident but the plate says otherwise: ask the next tier
        (0.95, 0.80, 2, 30.0, False, "accept"),
        (0.95, None, 0, 30.0, True, "accept"),  # the last tier's answer is shown, with both readings
        (0.95, 0.80, 2, 0.5, True, "accept"),  # no time left for another tier: keep it, flagged on the card
        (0.50, 0.80, 0, 30.0, True, "stop"),
    ],
)
def test_decide_escalates_a_contradicted_answer(
    score_: float, threshold: float | None, tiers_left: int, seconds_left: float, contradicted: bool, action: str
) -> None:
    verdict = decide(
        outcome="valid",
        score=score_,
        threshold=threshold,
        tiers_left=tiers_left,
        seconds_left=seconds_left,
        contradicted=contradicted,
    )
    assert verdict.action == action


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "ollama:0.80,gemini:0.70,grok:0.80,claude",
            [
                CascadeStep("ollama", 0.8),
                CascadeStep("gemini", 0.7),
                CascadeStep("grok", 0.8),
                CascadeStep("claude", None),
            ],
        ),
        ("claude", [CascadeStep("claude", None)]),
        ("gemini,claude:0.5", [CascadeStep("gemini", DEFAULT_THRESHOLD), CascadeStep("claude", 0.5)]),
        (" Grok : 0.9 , gemini ", [CascadeStep("grok", 0.9), CascadeStep("gemini", None)]),
    ],
)
def test_parse_cascade(spec: str, expected: list[CascadeStep]) -> None:
    assert parse_cascade(spec, known=KNOWN) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("gemini,bard", "unknown tier 'bard'"),
        ("gemini,gemini", "twice"),
        ("gemini:high,claude", "not a number"),
        ("gemini:1.5,claude", "between 0 and 1"),
    ],
)
def test_parse_cascade_rejects(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_cascade(spec, known=KNOWN)
