"""version index: the next version of a name is found without sorting its versions

Revision ID: 0006_version_index
Revises: 0005_listing
Create Date: 2026-12-01
"""

from alembic import op

revision = "0006_version_index"
down_revision = "0005_listing"
branch_labels = None
depends_on = None

COLUMNS = ["registry", "name", "repository", "major", "minor", "patch"]


def upgrade() -> None:
    op.create_index("ix_cards_versions", "opsml_cards", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_cards_versions", table_name="opsml_cards")
