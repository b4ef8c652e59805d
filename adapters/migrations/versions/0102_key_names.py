"""api_keys: a name is unique among the active keys (a partial unique index)

Keys were revoked by name, and names repeated, so `keys revoke NAME` could revoke the wrong
one. Active keys that already share a name keep the oldest's name; the others are renamed
`NAME#ID` first, so the index can be built on any existing database.

Revision ID: 0102
Revises: 0101
Create Date: 2026-11-27 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0102'
down_revision = '0101'
branch_labels = None
depends_on = None

ACTIVE = sa.text("revoked_at IS NULL")


def upgrade() -> None:
    bind = op.get_bind()
    keys = sa.table('api_keys', sa.column('id', sa.Integer), sa.column('name', sa.String),
                    sa.column('revoked_at', sa.DateTime))
    seen: set[str] = set()
    for key_id, name in bind.execute(sa.select(keys.c.id, keys.c.name)
                                     .where(keys.c.revoked_at.is_(None)).order_by(keys.c.id)):
        if name in seen:
            bind.execute(keys.update().where(keys.c.id == key_id)
                         .values(name=f"{name[:180]}#{key_id}"))
        seen.add(name)
    op.create_index('uq_api_keys_active_name', 'api_keys', ['name'], unique=True,
                    sqlite_where=ACTIVE, postgresql_where=ACTIVE)


def downgrade() -> None:
    op.drop_index('uq_api_keys_active_name', table_name='api_keys')
