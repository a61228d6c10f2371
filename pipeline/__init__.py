"""Photo → ``Analysis``. Knows nothing of Telegram. Public surface for the bot and the CLI."""

from pipeline.analysis import PROMPT_VERSION
from pipeline.costs import PriceTable, format_usd, lifecycle_warning
from pipeline.errors import (
    AnalysisFailed,
    IntakeError,
    NoTierAvailable,
    PipelineError,
    TierError,
)
from pipeline.escalation import parse_cascade
from pipeline.events import PipelineEvent
from pipeline.service import Pipeline
from pipeline.settings import PipelineSettings
from pipeline.tiers import TIER_NAMES, build_tiers
from pipeline.types import Analysis, Attempt, Progress, Receipt, Result, SpendingGuard


def parse_cascade_names(spec: str) -> list[str]:
    """Tier names in ``CASCADE`` order (validates the spec)."""
    return [step.tier for step in parse_cascade(spec, known=frozenset(TIER_NAMES))]


__all__ = [
    "PROMPT_VERSION",
    "Analysis",
    "AnalysisFailed",
    "Attempt",
    "IntakeError",
    "NoTierAvailable",
    "Pipeline",
    "PipelineError",
    "PipelineEvent",
    "PipelineSettings",
    "PriceTable",
    "Progress",
    "Receipt",
    "Result",
    "SpendingGuard",
    "TierError",
    "build_tiers",
    "format_usd",
    "lifecycle_warning",
    "parse_cascade",
    "parse_cascade_names",
]
