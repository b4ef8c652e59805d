"""decision_rule_buckets, decision_index_mark: the decision log's index by rule

The console searches the decision log by the rule that fired (`GET /v1/decisions?rule=`);
the log keeps the fired rules as text, so that search read every row (0.5 to 1.1 s over
100,000 decisions). One row per (rule, bucket of 256 consecutive decisions) the rule fired in,
and how far the index has read the log (adapters/decision_index.py fills both as it goes; the
log's writer is unchanged). Nothing to backfill: the first search catches up.

Revision ID: 0109
Revises: 0108
Create Date: 2026-12-03 13:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0109'
down_revision = '0108'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'decision_rule_buckets',
        sa.Column('rule', sa.String(length=200), nullable=False),
        sa.Column('bucket', BIG, autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint('rule', 'bucket'),
    )
    op.create_table(
        'decision_index_mark',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('seq', BIG, nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('decision_index_mark')
    op.drop_table('decision_rule_buckets')
