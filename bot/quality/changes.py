"""Did a model change make answers worse? Per tier, the model now configured against the one before it.

When a tier answered with two models in the period (``GEMINI_MODEL`` was changed, say), /quality compares the
latest with the previous one on what each was judged by: the share of its answers escalated (its own score
below the threshold), the share of shown answers judged wrong (Wrong taps, corrections, disagreeing
re-checks) and the cost of an accepted answer, with a two-sided two-proportion test for each share. Few
photos give wide uncertainty, and the text then says "not distinguishable yet" instead of a verdict.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from html import escape

from bot.accounts.amounts import usd as format_usd
from bot.i18n import N_, Translator, translator
from bot.quality.canary import two_proportion_p
from bot.quality.report import TierQuality

SIGNIFICANT = 0.05
NO_DATA, NOT_YET, WORSE, BETTER = N_("no data on one side"), N_("not distinguishable yet"), N_("worse"), N_("better")


def changed_tiers(tiers: Sequence[TierQuality]) -> list[tuple[TierQuality, TierQuality]]:
    """(before, after) per tier that answered with more than one model, ordered by when each was first used."""
    by_tier: dict[str, list[tuple[datetime, TierQuality]]] = defaultdict(list)
    for q in tiers:
        if q.first_seen is not None:
            by_tier[q.tier].append((q.first_seen, q))
    pairs = []
    for models in by_tier.values():
        if len(models) > 1:
            ordered = [q for _, q in sorted(models, key=lambda pair: pair[0])]
            pairs.append((ordered[-2], ordered[-1]))
    return pairs


def verdict(k1: int, n1: int, k2: int, n2: int) -> tuple[str, float | None]:
    """ "worse" / "better" (a higher / lower share after, p < 0.05), "no real difference yet", or "no data"."""
    p = two_proportion_p(k1, n1, k2, n2)
    if p is None:
        return NO_DATA, None
    if p >= SIGNIFICANT:
        return NOT_YET, p
    return (WORSE if k2 / n2 > k1 / n1 else BETTER), p


def _share(k: int, n: int, tr: Translator) -> str:
    return tr.gettext("{percent}% of {n}", percent=f"{k / n * 100:.0f}", n=n) if n else "–"


def _line(label: str, k1: int, n1: int, k2: int, n2: int, tr: Translator) -> str:
    said, p = verdict(k1, n1, k2, n2)
    tail = tr.gettext(said) if p is None else f"p = {p:.2f}, {tr.gettext(said)}"
    return f"{label}: {_share(k1, n1, tr)} → {_share(k2, n2, tr)} ({tail})"


def change_lines(tiers: Sequence[TierQuality], tr: Translator | None = None) -> list[str]:
    """Lines for /quality per tier whose model changed in the period, in ``tr``'s language (English by default)."""
    tr = tr or translator("en")
    lines: list[str] = []
    for before, after in changed_tiers(tiers):
        lines += [
            "",
            tr.gettext(
                "<b>🔄 Model change on {tier}</b>: {before} → {after}",
                tier=escape(after.tier),
                before=escape(before.model),
                after=escape(after.model),
            ),
            _line(tr.gettext("escalated"), before.escalated, before.answers, after.escalated, after.answers, tr),
            _line(tr.gettext("judged wrong"), before.judged_wrong, before.shown, after.judged_wrong, after.shown, tr),
        ]
        costs = [q.cost_per_accepted for q in (before, after)]
        if all(c is not None for c in costs):
            lines.append(
                tr.gettext(
                    "cost per accepted answer: {before} → {after}",
                    before=format_usd(costs[0] or 0),
                    after=format_usd(costs[1] or 0),
                )
            )
    return lines
