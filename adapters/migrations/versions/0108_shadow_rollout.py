"""rollouts, rollout_records: shadow mode and KPI-gated rollouts (issue 18)

A candidate rule set runs beside the active one on live decisions (shadow), or decides a
share of them (rollout); each counted decision is a record, and a rollout that crosses a
threshold is rolled back by the background worker of whichever process sees it first.

Revision ID: 0108
Revises: 0107
Create Date: 2026-12-03 14:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0108'
down_revision = '0107'
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'rollouts',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('mode', sa.String(length=20), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('candidate_ref', sa.String(length=300), nullable=False),
        sa.Column('active_ref', sa.String(length=300), nullable=False),
        sa.Column('plan', sa.Text(), nullable=False),
        sa.Column('started_by', sa.String(length=200), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_by', sa.String(length=200), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_rollouts_state', 'rollouts', ['state'])
    op.create_table(
        'rollout_records',
        sa.Column('id', _SEQ, autoincrement=True, nullable=False),
        sa.Column('rollout_id', sa.String(length=40), nullable=False),
        sa.Column('side', sa.String(length=20), nullable=False),
        sa.Column('order_id', sa.String(length=200), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=True),
        sa.Column('revenue', sa.String(length=60), nullable=True),
        sa.Column('margin', sa.String(length=60), nullable=True),
        sa.Column('changed', sa.Integer(), nullable=False),
        sa.Column('pair', sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_rollout_records_rollout', 'rollout_records',
                    ['rollout_id', 'side', 'id'])


def downgrade() -> None:
    op.drop_index('ix_rollout_records_rollout', table_name='rollout_records')
    op.drop_table('rollout_records')
    op.drop_index('ix_rollouts_state', table_name='rollouts')
    op.drop_table('rollouts')
