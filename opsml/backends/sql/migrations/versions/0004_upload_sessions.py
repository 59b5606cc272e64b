"""upload sessions and the files they received, in the database

Revision ID: 0004_upload_sessions
Revises: 0003_identity
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_upload_sessions"
down_revision = "0003_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "opsml_upload_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=256), nullable=True),
        sa.Column("presigned", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("touched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_opsml_upload_sessions_touched_at"),
        "opsml_upload_sessions",
        ["touched_at"],
        unique=False,
    )
    op.create_table(
        "opsml_upload_files",
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["opsml_upload_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", "position"),
    )


def downgrade() -> None:
    op.drop_table("opsml_upload_files")
    op.drop_table("opsml_upload_sessions")  # its index goes with it
