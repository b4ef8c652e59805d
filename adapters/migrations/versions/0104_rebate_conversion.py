"""orch_rebate_entries: the conversion of a shipment in another currency than its programme's

A EUR shipment accrued to a USD programme is converted at the rule set's dated rates; the rate
and its date were kept only in the timeline entry. The entry row now keeps what was shipped
(currency and amount) and the rate and date that converted it, so an accrual can be audited
from its own table.

Revision ID: 0104
Revises: 0103
Create Date: 2026-12-03 07:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0104'
down_revision = '0103'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orch_rebate_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shipped_currency', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('shipped_amount', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('fx_rate', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('fx_date', sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orch_rebate_entries', schema=None) as batch_op:
        for column in ('fx_date', 'fx_rate', 'shipped_amount', 'shipped_currency'):
            batch_op.drop_column(column)
