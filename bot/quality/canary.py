"""Canary: a stable share of users served by a candidate cascade, and how the two arms compare.

``arm_for`` hashes the user id (with a fixed salt), so a user stays in one arm across restarts and machines and
the share grows by adding users, never by moving them. /quality compares the arms on what the technicians saw:
cost per photo, the share judged wrong and the share re-checked, each with a 95 % Wilson interval, and a
two-sided two-proportion z-test for the differences (normal approximation, ``math.erfc``; no statistics
package needed). With few photos the intervals are wide and the text says so rather than declaring a winner.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass

from bot.i18n import N_, Translator, translator
from bot.quality.report import ShownRow
from bot.runtime.settings import BotSettings
from pipeline import PipelineSettings, format_usd, parse_cascade_names

MAIN, CANARY = "main", "canary"
Z95 = 1.959964


def arm_for(settings: BotSettings, pipeline: PipelineSettings, user_id: int) -> str | None:
    """ "canary" for a stable CANARY_PERCENT of users, else "main"; None when no canary is configured."""
    if not pipeline.canary_cascade.strip() or settings.canary_percent <= 0:
        return None
    digest = hashlib.sha256(f"plc-copilot-canary:{user_id}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") / 2**64 * 100
    return CANARY if bucket < settings.canary_percent else MAIN


def tier_names(pipeline: PipelineSettings) -> list[str]:
    """The tiers to build: CASCADE's, then any more the canary names."""
    names = parse_cascade_names(pipeline.cascade)
    if pipeline.canary_cascade.strip():
        names += [n for n in parse_cascade_names(pipeline.canary_cascade) if n not in names]
    return names


def wilson(hits: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion; (0, 1) for no observations."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_p(k1: int, n1: int, k2: int, n2: int) -> float | None:
    """Two-sided p-value that two proportions differ (pooled z-test); None when it cannot be computed."""
    if n1 == 0 or n2 == 0:
        return None
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = abs(k1 / n1 - k2 / n2) / se
    return math.erfc(z / math.sqrt(2))


@dataclass
class ArmStats:
    name: str
    photos: int = 0
    cost_micro_usd: int = 0
    wrong: int = 0
    rechecked: int = 0

    @property
    def cost_per_photo(self) -> float:
        return self.cost_micro_usd / self.photos if self.photos else 0.0


def arms(shown: Iterable[ShownRow]) -> dict[str, ArmStats]:
    table: dict[str, ArmStats] = {}
    for row in shown:
        if row.arm is None:
            continue
        stats = table.setdefault(row.arm, ArmStats(row.arm))
        stats.photos += 1
        stats.cost_micro_usd += row.cost_micro_usd
        stats.wrong += row.judged_wrong
        stats.rechecked += row.rechecks > 0
    return table


def _share(hits: int, n: int) -> str:
    low, high = wilson(hits, n)
    return f"{hits / n:.0%} ({low:.0%}–{high:.0%})" if n else "–"


def _difference(label: str, p: float | None, tr: Translator) -> str:
    if p is None:
        return tr.gettext("{label}: no data in one arm", label=label)
    if p < 0.05:
        return tr.gettext("{label}: p = {p}, a real difference (p < 0.05)", label=label, p=f"{p:.2f}")
    return tr.gettext("{label}: p = {p}, not distinguishable yet; more photos needed", label=label, p=f"{p:.2f}")


ARM_NAMES = {MAIN: N_("main"), CANARY: N_("canary")}


def arms_text(shown: Iterable[ShownRow], tr: Translator | None = None) -> list[str]:
    """Lines for /quality when a canary ran in the period, in ``tr``'s language (English by default); empty
    otherwise."""
    tr = tr or translator("en")
    table = arms(shown)
    if CANARY not in table:
        return []
    main, canary = table.get(MAIN, ArmStats(MAIN)), table[CANARY]
    lines = ["", tr.gettext("<b>🐤 Canary vs main</b> (95 % intervals)")]
    for stats in (main, canary):
        name = tr.gettext(ARM_NAMES[stats.name]) if stats.name in ARM_NAMES else stats.name
        lines.append(
            tr.ngettext(
                "{arm}: {n} photo · {cost}/photo · wrong {wrong} · re-checked {rechecked}",
                "{arm}: {n} photos · {cost}/photo · wrong {wrong} · re-checked {rechecked}",
                stats.photos,
                arm=name,
                n=stats.photos,
                cost=format_usd(round(stats.cost_per_photo)),
                wrong=_share(stats.wrong, stats.photos),
                rechecked=_share(stats.rechecked, stats.photos),
            )
        )
    wrong_p = two_proportion_p(main.wrong, main.photos, canary.wrong, canary.photos)
    lines.append(_difference(tr.gettext("wrong-rate"), wrong_p, tr))
    recheck_p = two_proportion_p(main.rechecked, main.photos, canary.rechecked, canary.photos)
    lines.append(_difference(tr.gettext("re-check rate"), recheck_p, tr))
    return lines
