"""deployment records (append-only) and each target's current deployment

Revision ID: 0007_deployments
Revises: 0006_version_index
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_deployments"
down_revision = "0006_version_index"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "opsml_deployments",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("registry", sa.String(length=16), nullable=False),
        sa.Column("card_uid", sa.String(length=32), nullable=False),
        sa.Column("repository", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("image", sa.String(length=512), nullable=True),
        sa.Column("image_digest", sa.String(length=71), nullable=True),
        sa.Column("manifests_sha256", sa.String(length=64), nullable=True),
        sa.Column("flow_run_id", sa.String(length=64), nullable=True),
        sa.Column("flow_run_url", sa.String(length=1024), nullable=True),
        sa.Column("actor", sa.String(length=256), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_deployments_target", "opsml_deployments", ["environment", "target", "id"])
    op.create_index("ix_deployments_card", "opsml_deployments", ["card_uid", "id"])
    op.create_index(
        "ix_deployments_name", "opsml_deployments", ["registry", "name", "repository", "id"]
    )
    op.create_table(
        "opsml_deployment_targets",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("current_id", sa.BigInteger(), nullable=True),
        sa.Column("card_uid", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("environment", "target", name="uq_deployment_target"),
    )
    op.create_index(
        op.f("ix_opsml_deployment_targets_card_uid"),
        "opsml_deployment_targets",
        ["card_uid"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("opsml_deployment_targets")  # its index goes with it
    op.drop_index("ix_deployments_name", table_name="opsml_deployments")
    op.drop_index("ix_deployments_card", table_name="opsml_deployments")
    op.drop_index("ix_deployments_target", table_name="opsml_deployments")
    op.drop_table("opsml_deployments")
