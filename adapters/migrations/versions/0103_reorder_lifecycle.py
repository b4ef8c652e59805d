"""orch_reorders: proposed -> ordered -> received (or dismissed); orch_goods_receipts

A reorder proposal could never be closed, so the first one blocked every later proposal of its
location and SKU. Proposals now move through proposed, ordered, received or dismissed (open
proposals, state `open` before, become `proposed`), and goods received against an ordered
proposal are recorded with the stock move they made.

Revision ID: 0103
Revises: 0102
Create Date: 2026-12-02 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0103'
down_revision = '0102'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orch_reorders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purchase_order', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('ordered_quantity', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('ordered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('received_quantity', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('updated_by', sa.String(length=200), nullable=True))
    op.execute("UPDATE orch_reorders SET state = 'proposed' WHERE state = 'open'")
    op.create_table('orch_goods_receipts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('reorder_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('receipt_id', sa.String(length=200), nullable=False),
    sa.Column('location', sa.String(length=100), nullable=False),
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.String(length=40), nullable=False),
    sa.Column('on_hand_after', sa.String(length=40), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reorder_id', 'receipt_id', name='uq_orch_receipt')
    )
    with op.batch_alter_table('orch_goods_receipts', schema=None) as batch_op:
        batch_op.create_index('ix_orch_goods_receipts_pair', ['location', 'sku'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('orch_goods_receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_orch_goods_receipts_pair')
    op.drop_table('orch_goods_receipts')
    op.execute("UPDATE orch_reorders SET state = 'open' WHERE state = 'proposed'")
    with op.batch_alter_table('orch_reorders', schema=None) as batch_op:
        for column in ('updated_by', 'note', 'closed_at', 'received_quantity', 'ordered_at',
                       'ordered_quantity', 'purchase_order'):
            batch_op.drop_column(column)
