"""users, service tokens and role grants

Revision ID: 0003_identity
Revises: 0002_aliases
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_identity"
down_revision = "0002_aliases"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "opsml_users",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "opsml_tokens",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["opsml_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
        sa.UniqueConstraint("name"),
    )
    op.create_index(op.f("ix_opsml_tokens_user_id"), "opsml_tokens", ["user_id"], unique=False)
    op.create_table(
        "opsml_grants",
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("repository", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["opsml_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "repository", "role"),
    )


def downgrade() -> None:
    op.drop_table("opsml_grants")
    op.drop_table("opsml_tokens")  # its index goes with it (MariaDB keeps it for the FK)
    op.drop_table("opsml_users")
