"""rollout_queue: the durable queue of shadow and rollout work (issue 18)

The request path of a decision or a hub order appends one small row per running shadow or
rollout that counts it, in the transaction that writes its decision record; the background
worker of any process claims rows (FOR UPDATE SKIP LOCKED on PostgreSQL, under SQLite's write
lock there), decides the shadow's candidate, stores the record and deletes the row in one
transaction. A process that stops loses nothing: its rows wait for the next worker.
rollout_records gets the decision_id it counts.

Revision ID: 0110
Revises: 0109
Create Date: 2026-12-03 16:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0110'
down_revision = '0109'
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'rollout_queue',
        sa.Column('id', _SEQ, autoincrement=True, nullable=False),
        sa.Column('rollout_id', sa.String(length=40), nullable=False),
        sa.Column('side', sa.String(length=20), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('decision_id', sa.String(length=40), nullable=False),
        sa.Column('order_id', sa.String(length=200), nullable=False),
        sa.Column('today', sa.Date(), nullable=False),
        sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claim', sa.String(length=40), nullable=True),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_rollout_queue_claim', 'rollout_queue', ['claimed_until', 'id'])
    op.add_column('rollout_records', sa.Column('decision_id', sa.String(length=40),
                                               nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('rollout_records') as batch:
        batch.drop_column('decision_id')
    op.drop_index('ix_rollout_queue_claim', table_name='rollout_queue')
    op.drop_table('rollout_queue')
