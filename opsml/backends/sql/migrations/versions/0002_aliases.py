"""card aliases

Revision ID: 0002_aliases
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_aliases"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "opsml_card_aliases",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("registry", sa.String(length=16), nullable=False),
        sa.Column("repository", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("alias", sa.String(length=63), nullable=False),
        sa.Column("card_uid", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.String(length=256), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("registry", "repository", "name", "alias", name="uq_card_alias"),
    )
    op.create_index(
        op.f("ix_opsml_card_aliases_card_uid"), "opsml_card_aliases", ["card_uid"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_opsml_card_aliases_card_uid"), table_name="opsml_card_aliases")
    op.drop_table("opsml_card_aliases")
