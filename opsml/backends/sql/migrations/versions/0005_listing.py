"""listing: card summaries, lineage links and the names index

Revision ID: 0005_listing
Revises: 0004_upload_sessions
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from opsml.card_index import link_targets, summary_of

revision = "0005_listing"
down_revision = "0004_upload_sessions"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BATCH = 2000


def upgrade() -> None:
    op.add_column("opsml_cards", sa.Column("summary", sa.JSON(), nullable=True))
    op.create_table(
        "opsml_card_links",
        sa.Column("card_id", BIG_ID, nullable=False),
        sa.Column("target_uid", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["opsml_cards.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("card_id", "target_uid"),
    )
    op.create_index("ix_links_target", "opsml_card_links", ["target_uid", "card_id"])
    op.create_table(
        "opsml_card_names",
        sa.Column("registry", sa.String(length=16), nullable=False),
        sa.Column("repository", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("active_cards", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("registry", "repository", "name"),
    )
    _backfill()


def _backfill() -> None:
    """Names, links and summaries of the cards already registered."""
    conn = op.get_bind()
    cards = sa.table(
        "opsml_cards",
        sa.column("id", BIG_ID),
        sa.column("registry", sa.String()),
        sa.column("repository", sa.String()),
        sa.column("name", sa.String()),
        sa.column("status", sa.String()),
        sa.column("metadata", sa.JSON()),
        sa.column("summary", sa.JSON()),
    )
    names = sa.table(
        "opsml_card_names",
        sa.column("registry"),
        sa.column("repository"),
        sa.column("name"),
        sa.column("active_cards"),
    )
    links = sa.table("opsml_card_links", sa.column("card_id"), sa.column("target_uid"))
    counted = (
        sa.select(cards.c.registry, cards.c.repository, cards.c.name, sa.func.count())
        .where(cards.c.status == "active")
        .group_by(cards.c.registry, cards.c.repository, cards.c.name)
    )
    key = ["registry", "repository", "name", "active_cards"]
    conn.execute(names.insert().from_select(key, counted))
    set_summary = (
        cards.update()
        .where(cards.c.id == sa.bindparam("b_id"))
        .values(summary=sa.bindparam("b_summary", type_=sa.JSON()))
    )
    last = -1
    while True:
        rows = conn.execute(
            sa.select(cards.c.id, cards.c.registry, cards.c.metadata)
            .where(cards.c.id > last)
            .order_by(cards.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        found, summaries = [], []
        for row in rows:
            meta = row.metadata if isinstance(row.metadata, dict) else {}
            summaries.append({"b_id": row.id, "b_summary": summary_of(row.registry, meta)})
            found += [
                {"card_id": row.id, "target_uid": t} for t in link_targets(row.registry, meta)
            ]
        conn.execute(set_summary, summaries)  # one executemany per batch
        if found:
            conn.execute(links.insert(), found)
        last = rows[-1].id


def downgrade() -> None:
    op.drop_table("opsml_card_names")
    op.drop_index("ix_links_target", table_name="opsml_card_links")
    op.drop_table("opsml_card_links")
    with op.batch_alter_table("opsml_cards") as batch:
        batch.drop_column("summary")
