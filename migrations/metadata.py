"""The tables of all three packages in one MetaData, for Alembic (no foreign keys cross packages)."""

from __future__ import annotations

from sqlalchemy import MetaData


def combined_metadata() -> MetaData:
    from bot.runtime.models import Base as BotBase
    from cmmsconnect.models import Base as CmmsBase
    from pipeline.models import Base as PipelineBase

    combined = MetaData()
    for base in (PipelineBase, BotBase, CmmsBase):
        for table in base.metadata.tables.values():
            table.to_metadata(combined)
    return combined
