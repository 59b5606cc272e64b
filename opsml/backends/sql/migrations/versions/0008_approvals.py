"""approval requests of protected aliases

Revision ID: 0008_approvals
Revises: 0007_deployments
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_approvals"
down_revision = "0007_deployments"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "opsml_approvals",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("registry", sa.String(length=16), nullable=False),
        sa.Column("card_uid", sa.String(length=32), nullable=False),
        sa.Column("repository", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("alias", sa.String(length=63), nullable=False),
        sa.Column("from_uid", sa.String(length=32), nullable=True),
        sa.Column("from_version", sa.String(length=128), nullable=True),
        sa.Column("from_any", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=256), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=256), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_approvals_state", "opsml_approvals", ["state", "id"])
    op.create_index(
        "ix_approvals_name", "opsml_approvals", ["registry", "repository", "name", "id"]
    )
    op.create_index("ix_approvals_card", "opsml_approvals", ["card_uid"])


def downgrade() -> None:
    op.drop_index("ix_approvals_card", table_name="opsml_approvals")
    op.drop_index("ix_approvals_name", table_name="opsml_approvals")
    op.drop_index("ix_approvals_state", table_name="opsml_approvals")
    op.drop_table("opsml_approvals")
