"""plate: OCR text stored with each photo, the equipment register, and a card's evidence for its work order

Revision ID: plate
Revises: spend_open
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "plate"
down_revision: str | None = "spend_open"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plate_text", sa.JSON(), nullable=True))
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provenance", sa.JSON(), nullable=True))
    op.create_table(
        "equipment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("manufacturer", sa.String(length=120), nullable=False),
        sa.Column("serial_norm", sa.String(length=120), nullable=False),
        sa.Column("serial", sa.String(length=120), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=True),
        sa.Column("equipment_type", sa.String(length=80), nullable=True),
        sa.Column("analysis_id", sa.Integer(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equipment")),
        sa.UniqueConstraint("manufacturer", "serial_norm", name="uq_equipment_manufacturer_serial"),
    )
    with op.batch_alter_table("equipment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_equipment_serial_norm"), ["serial_norm"], unique=False)
        batch_op.create_index(batch_op.f("ix_equipment_last_seen_at"), ["last_seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("equipment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_equipment_last_seen_at"))
        batch_op.drop_index(batch_op.f("ix_equipment_serial_norm"))
    op.drop_table("equipment")
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_column("provenance")
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.drop_column("plate_text")
