"""``plc-copilot eval``: the evaluation set (from the ledger, or a labelled folder of photos) replayed under
candidate cascades, with a recommendation (the pure part is ``pipeline.replay``).

From the ledger, a request is in the set when it has evaluation rows: every configured tier then answered
the same photos (the served answers count, they share the request id). The verdict technicians gave the shown
answer comes along: right when someone tapped Right and nothing said wrong; wrong on a Wrong tap, a correction
or a disagreeing re-check.

A labelled folder (``--photos DIR --labels FILE``; FILE is JSON: photo file name → the fields a person
checked, e.g. ``{"p1.jpg": {"manufacturer": "ABB", "serial_number": "3G1234"}}``) is sent to every configured
tier first — real calls, billed and capped like ``analyze`` — so a plant can measure before going live.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts.budget import DbSpendingGuard
from bot.accounts.reports import PERIODS, period_start
from bot.i18n import N_, Translator, translator
from bot.quality.models import Feedback, ShownAnswer
from bot.runtime.db import make_engine, make_sessionmaker, upgrade_async
from bot.runtime.settings import AppSettings
from pipeline import Analysis, PriceTable, build_tiers, format_usd, parse_cascade
from pipeline.evaluation import Evaluator
from pipeline.ledger import Recorded, read_calls
from pipeline.replay import Case, Score, TierOutcome, Verdict, candidates, evaluate, recommend, spec_of
from pipeline.tiers import TIER_NAMES

BASES = ("strongest", "feedback", "plate", "labels")


def cases_from_calls(calls: Sequence[Recorded], verdicts: dict[str, Verdict]) -> list[Case]:
    """Group ledger rows into cases: only requests with evaluation rows; per tier, its answer if any."""
    evaluated = {c.request_id for c in calls if c.purpose == "eval"}
    by_request: dict[str, dict[str, TierOutcome]] = defaultdict(dict)
    for call in calls:
        if call.request_id not in evaluated or call.tier == "cache" or call.outcome.startswith("skipped"):
            continue
        known = by_request[call.request_id].get(call.tier)
        if known is not None and known.analysis is not None:
            continue  # the tier's answer is already there (served, then not asked again)
        by_request[call.request_id][call.tier] = TierOutcome(
            call.cost_micro_usd, call.latency_ms, call.score, call.analysis, call.evidence
        )
    return [Case(rid, tiers, verdicts.get(rid)) for rid, tiers in by_request.items()]


async def load_verdicts(session: AsyncSession, request_ids: set[str]) -> dict[str, Verdict]:
    if not request_ids:
        return {}
    shown = dict(
        (await session.execute(
            select(ShownAnswer.token, ShownAnswer.analysis).where(ShownAnswer.request_id.in_(request_ids))
        )).all()
    )  # fmt: skip
    rows = await session.execute(
        select(ShownAnswer.request_id, ShownAnswer.token, Feedback.kind, Feedback.verdict)
        .join(Feedback, Feedback.token == ShownAnswer.token)
        .where(ShownAnswer.request_id.in_(request_ids))
    )
    said: dict[tuple[str, str], set[str]] = defaultdict(set)
    for request_id, token, kind, verdict in rows.all():
        said[(request_id, token)].add("wrong" if kind != "vote" and verdict == "wrong" else verdict)
    verdicts: dict[str, Verdict] = {}
    for (request_id, token), seen in said.items():
        if seen == {"right"} or "wrong" in seen:
            verdicts[request_id] = Verdict(Analysis.model_validate(shown[token]), right="wrong" not in seen)
    return verdicts


async def ledger_cases(session: AsyncSession, since: datetime | None) -> list[Case]:
    calls = await read_calls(session, since=since)
    verdicts = await load_verdicts(session, {c.request_id for c in calls if c.purpose == "eval"})
    return cases_from_calls(calls, verdicts)


async def folder_cases(settings: AppSettings, sessions: Any, photos: Path, labels: Path) -> list[Case]:
    """Ask every configured tier about each labelled photo (recorded as evaluation rows), then make cases."""
    wanted: dict[str, dict[str, Any]] = json.loads(await asyncio.to_thread(labels.read_text, encoding="utf-8"))
    tiers = build_tiers(settings.pipeline, list(TIER_NAMES))
    evaluator = Evaluator(settings.pipeline, sessions, tiers, PriceTable.load(settings.pipeline.prices_path))
    guard = DbSpendingGuard(sessions, settings.bot, ttl=timedelta(seconds=settings.pipeline.request_timeout_s + 60))
    found: list[Case] = []
    try:
        for name, label in sorted(wanted.items()):
            data = await asyncio.to_thread(_read, photos / name)
            if data is None:
                print(f"no photo {photos / name} for its label; skipped", file=sys.stderr)
                continue
            request_id = f"label-{uuid.uuid4()}"
            attempts = await evaluator.run([data], caption=None, request_id=request_id, user_id=None, guard=guard)
            outcomes = {
                a.tier: TierOutcome(a.cost_micro_usd, a.latency_ms, a.score, a.analysis, a.evidence)
                for a in attempts
                if not a.outcome.startswith("skipped")
            }
            found.append(Case(request_id, outcomes, label=label))
    finally:
        await evaluator.aclose()
    return found


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def tiers_by_cost(cases: Sequence[Case]) -> list[str]:
    """Tiers seen in the set, cheapest mean cost per call first (ties in CASCADE's tier order)."""
    totals: dict[str, list[int]] = defaultdict(list)
    for case in cases:
        for tier, outcome in case.tiers.items():
            totals[tier].append(outcome.cost_micro_usd)
    order = {name: i for i, name in enumerate(TIER_NAMES)}
    return sorted(totals, key=lambda t: (sum(totals[t]) / len(totals[t]), order.get(t, 99)))


# What each accuracy basis (the CLI's --basis, named as it is in sentences) is called in a score line.
BASIS_LABELS = {"strongest": N_("agrees with strongest"), "feedback": N_("feedback"), "plate": N_("plate"),
         "labels": N_("labels")}  # fmt: skip


def _rate(score: Score, basis: str, tr: Translator) -> str:
    rate = getattr(score, basis)
    if rate.value is None:
        return "–"
    return tr.gettext("{percent}% of {n}", percent=f"{rate.value * 100:.0f}", n=rate.judged)


def score_line(score: Score, tag: str = "", tr: Translator | None = None) -> str:
    tr = tr or translator("en")
    ms = score.latency(50), score.latency(95)
    latency = "–" if ms[0] is None else f"{(ms[0] or 0) / 1000:.1f}/{(ms[1] or 0) / 1000:.1f} s"
    rates = " · ".join(f"{tr.gettext(label)} {_rate(score, basis, tr)}" for basis, label in BASIS_LABELS.items())
    return f"{tag}{score.spec}\n    " + tr.gettext(
        "{cost} per 1000 photos · {rates} · escalated {escalated}% · p50/p95 {latency}",
        cost=format_usd(round(score.cost_per_photo * 1000)), rates=rates,
        escalated=f"{score.escalation_rate * 100:.0f}", latency=latency,
    )  # fmt: skip


def report(
    cases: Sequence[Case],
    *,
    current: str,
    extra: Sequence[str],
    reference: str,
    max_loss: float,
    basis: str,
    top: int,
    tr: Translator | None = None,
) -> str:
    """The /whatif and ``plc-copilot eval`` table, in ``tr``'s language (English by default: the CLI)."""
    tr = tr or translator("en")
    known = frozenset(TIER_NAMES)
    order = tiers_by_cost(cases)
    scored = [evaluate(steps, cases, reference=reference) for steps in candidates(order)]
    named = {spec_of(parse_cascade(spec, known=known)) for spec in [current, *extra]}
    for spec in [current, *extra]:
        steps = parse_cascade(spec, known=known)
        if spec_of(steps) not in {s.spec for s in scored}:
            scored.append(evaluate(steps, cases, reference=reference))
    best = recommend(scored, max_loss=max_loss, basis=basis)
    lines = [
        tr.ngettext(
            "Evaluation set: {n} photo · tiers by cost: {order} · strongest (reference): {reference}",
            "Evaluation set: {n} photos · tiers by cost: {order} · strongest (reference): {reference}",
            len(cases),
            n=len(cases),
            order=", ".join(order) or tr.gettext("none"),
            reference=reference,
        )
    ]
    by_spec = {s.spec: s for s in scored}
    asked = tr.gettext("asked for:")
    for spec in sorted(named):
        lines.append(score_line(by_spec[spec], asked + " " * max(1, 13 - len(asked)), tr))
    if best is None:
        lines.append(tr.gettext("No candidate could be judged on '{basis}': no such evidence in the set.", basis=basis))
        return "\n".join(lines)
    why = tr.gettext(
        "recommended: (cheapest within {loss}% of the best on {basis})",
        loss=f"{max_loss * 100:.0f}", basis=basis,
    )  # fmt: skip
    lines.append(score_line(best, why + "\n    ", tr))
    cheapest = sorted(scored, key=lambda s: s.cost_per_photo)
    front: list[Score] = []
    for score in cheapest:  # the cost/accuracy frontier: each one more accurate than every cheaper one
        value = getattr(score, basis).value
        if value is not None and all(value > (getattr(f, basis).value or 0) for f in front):
            front.append(score)
    lines.append("\n" + tr.gettext("Cost/accuracy frontier ({basis}):", basis=basis))
    lines.extend(score_line(s, "  ", tr) for s in front[:top])
    return "\n".join(lines)


async def run_eval(settings: AppSettings, args: Any) -> int:
    await upgrade_async(settings.bot.database_url)
    engine = make_engine(settings.bot.database_url)
    sessions = make_sessionmaker(engine)
    try:
        if args.photos is not None:
            cases = await folder_cases(settings, sessions, args.photos, args.labels)
        else:
            async with sessions() as session:
                cases = await ledger_cases(session, period_start(PERIODS[args.period], datetime.now(UTC)))
    finally:
        await engine.dispose()
    if not cases:
        print("The evaluation set is empty: set EVAL_SAMPLE_RATE (e.g. 0.02) and let traffic arrive, or pass "
              "--photos DIR --labels FILE.", file=sys.stderr)  # fmt: skip
        return 3
    steps = parse_cascade(settings.pipeline.cascade, known=frozenset(TIER_NAMES))
    reference = args.reference or steps[-1].tier
    print(
        report(
            cases, current=settings.pipeline.cascade, extra=args.candidate, reference=reference,
            max_loss=args.max_loss, basis=args.basis, top=args.top,
        )
    )  # fmt: skip
    return 0
