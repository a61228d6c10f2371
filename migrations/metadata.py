"""The tables of all three packages in one MetaData, for Alembic (no foreign keys cross packages)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData

# not our models: the job queue's own tables (fleet_procrastinate) and the fleet's plain-SQL state (fleet_state)
UNMODELLED_PREFIXES = ("procrastinate_", "fleet_")


def combined_metadata() -> MetaData:
    import bot.quality.models  # noqa: F401  (its tables join the bot's metadata on import)
    from bot.runtime.models import Base as BotBase
    from cmmsconnect.models import Base as CmmsBase
    from pipeline.models import Base as PipelineBase

    combined = MetaData()
    for base in (PipelineBase, BotBase, CmmsBase):
        for table in base.metadata.tables.values():
            table.to_metadata(combined)
    return combined


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """For autogenerate: the job queue's tables and the fleet's state tables have no models (PostgreSQL only)."""
    return not (type_ == "table" and name is not None and name.startswith(UNMODELLED_PREFIXES))
