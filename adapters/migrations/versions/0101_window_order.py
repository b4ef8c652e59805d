"""orch_windows.order_id: a transaction reads the window entries of its orders in one query

Revision ID: 0101
Revises: 0100
Create Date: 2026-11-25 22:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0101'
down_revision = '0100'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orch_windows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('order_id', sa.String(length=200), nullable=True))
    # the key of a window entry is "ORDER_ID\x1fKEY"
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("UPDATE orch_windows SET order_id = substr(key, 1, instr(key, char(31)) - 1)")
    else:
        op.execute("UPDATE orch_windows SET order_id = split_part(key, chr(31), 1)")
    with op.batch_alter_table('orch_windows', schema=None) as batch_op:
        batch_op.alter_column('order_id', existing_type=sa.String(length=200), nullable=False)
        batch_op.create_index('ix_orch_windows_order', ['order_id', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('orch_windows', schema=None) as batch_op:
        batch_op.drop_index('ix_orch_windows_order')
        batch_op.drop_column('order_id')
