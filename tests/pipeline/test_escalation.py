import pytest

from pipeline.escalation import DEFAULT_THRESHOLD, CascadeStep, decide, parse_cascade, score
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
