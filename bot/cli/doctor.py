"""``plc-copilot doctor``: a table of what works and what does not, before a technician finds out."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.chat.telegram_check import check_token
from bot.runtime.db import DatabaseFolderError, alembic_config, make_engine
from bot.runtime.settings import AppSettings
from pipeline import PriceTable, TierError, build_tiers, lifecycle_warning, parse_cascade_names
from pipeline.costs import PriceTableError
from pipeline.types import Tier

OK, WARN, FAIL = "ok", "warn", "FAIL"


async def doctor(settings: AppSettings) -> int:
    rows: list[tuple[str, str, str]] = []
    checked = await check_token(settings.bot)
    rows.append(
        (
            "telegram bot",
            FAIL if checked.problem else OK,
            checked.problem or f"@{checked.username}: Telegram accepted the token",
        )
    )
    rows.append(await _database(settings.bot.database_url))
    rows.extend(await _tiers(settings))
    missing = settings.cmms.missing()
    rows.append(
        (
            f"cmms ({settings.cmms.backend})",
            FAIL if missing else OK,
            f"set {', '.join(missing)}" if missing else "configured",
        )
    )
    width = max(len(r[0]) for r in rows)
    for name, state, detail in rows:
        print(f"{name:<{width}}  {state:<4}  {detail}")
    return 1 if any(state == FAIL for _, state, _ in rows) else 0


async def _database(url: str) -> tuple[str, str, str]:
    try:
        engine = make_engine(url)
    except DatabaseFolderError as exc:
        return ("database", FAIL, str(exc))
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()

    def current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    try:
        async with engine.begin() as connection:
            revision = await connection.run_sync(current)
            if revision is not None:  # a no-op write proves the file is writable
                await connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
    except Exception as exc:
        return ("database", FAIL, f"{engine.url.render_as_string()}: {exc.__class__.__name__}: {exc}")
    finally:
        await engine.dispose()
    if revision is None:
        return ("database", FAIL, "not migrated: run `plc-copilot migrate`")
    if revision != head:
        return ("database", WARN, f"at {revision}, latest is {head}: run `plc-copilot migrate`")
    return ("database", OK, f"writable, migrated ({revision})")


async def _tiers(settings: AppSettings) -> list[tuple[str, str, str]]:
    try:
        names = parse_cascade_names(settings.pipeline.cascade)
    except ValueError as exc:
        return [("cascade", FAIL, str(exc))]
    tiers = build_tiers(settings.pipeline, names)
    try:
        prices = PriceTable.load(settings.pipeline.prices_path)
    except (OSError, PriceTableError) as exc:
        return [("prices", FAIL, str(exc))]
    today = datetime.now(UTC).date()
    rows: list[tuple[str, str, str]] = []
    try:
        for name in names:
            tier = tiers.get(name)
            label = f"tier {name}"
            if tier is None:
                rows.append((label, WARN, "not configured (skipped by the cascade)"))
                continue
            rows.append(await _model_row(label, tier, prices))
            if not tier.is_local:
                rows.append(_price_row(prices, tier.model, tier.provider, today))
        if not tiers:
            rows.append(("tiers", FAIL, "no tier configured: set OLLAMA_HOST or a cloud API key"))
    finally:
        for tier in tiers.values():
            await tier.aclose()
    return rows


async def _model_row(label: str, tier: Tier, prices: PriceTable) -> tuple[str, str, str]:
    """Ask the provider which models this key can use and whether the configured one is among them."""
    where = "pulled on this server" if tier.is_local else "this key can use"
    try:
        available = await asyncio.wait_for(tier.list_models(), timeout=10)
    except TierError as exc:
        return (label, FAIL, exc.message)
    except TimeoutError:
        return (label, FAIL, "no answer within 10 s")
    if _listed(tier.model, available):
        return (label, OK, f"{tier.model}: found ({len(available)} models {where})")
    try:  # Anthropic lists dated ids only; an alias such as claude-haiku-5-5 is found by asking for it
        detail = await asyncio.wait_for(tier.probe(), timeout=10)
    except (TierError, TimeoutError):
        pass
    else:
        return (label, OK, f"{tier.model}: found as an alias ({detail}; {len(available)} models {where})")
    if tier.is_local:
        return (label, FAIL, f"{tier.model}: missing, not pulled; run `ollama pull {tier.model}` on that machine")
    lifecycle = prices.lifecycle(tier.model)
    hint = f"; the provider names {lifecycle.replacement}" if lifecycle and lifecycle.replacement else ""
    family = tier.model.split("-")[0]
    similar = [m for m in available if m.startswith(family)][:4]
    listed = f"; it lists {', '.join(similar)}" if similar else ""
    return (label, FAIL, f"{tier.model}: missing, not among the {len(available)} models {where}{hint}{listed}")


def _listed(model: str, available: list[str]) -> bool:
    """``llava`` and ``llava:latest`` name the same Ollama model."""
    names = set(available)
    return model in names or f"{model}:latest" in names or model.removesuffix(":latest") in names


def _price_row(prices: PriceTable, model: str, provider: str, today: date) -> tuple[str, str, str]:
    """The price a call will be charged at, where it comes from, and the model's announced shutdown."""
    price = prices.lookup(model, today, provider)
    warning = lifecycle_warning(price, model, today)
    if price is None:
        return ("  price", FAIL, f"{warning}; add it to the file named by PRICES_PATH")
    if warning is None:
        return ("  price", OK, f"{model}: {price.describe()}")
    state = FAIL if price.shutdown is not None and price.shutdown <= today else WARN
    return ("  price", state, f"{warning} ({price.lifecycle_source}); {price.describe()}")
