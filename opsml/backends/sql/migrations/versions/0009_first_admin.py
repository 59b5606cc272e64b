"""the guard row of the first administrator

Revision ID: 0009_first_admin
Revises: 0008_approvals
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_first_admin"
down_revision = "0008_approvals"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # no row for an existing registry: the guard counts only while the database has no user
    op.create_table(
        "opsml_first_admin",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["opsml_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_opsml_first_admin_user_id"), "opsml_first_admin", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("opsml_first_admin")  # its index goes with it (MariaDB keeps it for the FK)
