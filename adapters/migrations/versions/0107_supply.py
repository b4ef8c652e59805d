"""supply_events, supply_reservations, supply_promises, supply_seeds: promising in the service

Supply to come (purchase orders, transfers, work orders, planned orders) per location and SKU,
the reservations orders hold against it (and against on hand, which stays orch_stock), each
order's promise, and the marker of a fresh service's seeding from its rule set (issue 14).

Revision ID: 0107
Revises: 0106
Create Date: 2026-12-03 13:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0107'
down_revision = '0106'
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'supply_events',
        sa.Column('id', _SEQ, autoincrement=True, nullable=False),
        sa.Column('location', sa.String(length=100), nullable=False),
        sa.Column('sku', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('ref', sa.String(length=200), nullable=False),
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('quantity', sa.String(length=40), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('location', 'sku', 'kind', 'ref', name='uq_supply_events_ref'),
    )
    op.create_index('ix_supply_events_sku', 'supply_events', ['sku', 'location'])
    op.create_table(
        'supply_reservations',
        sa.Column('id', _SEQ, autoincrement=True, nullable=False),
        sa.Column('order_id', sa.String(length=200), nullable=False),
        sa.Column('decision_id', sa.String(length=80), nullable=False),
        sa.Column('line_id', sa.String(length=200), nullable=False),
        sa.Column('location', sa.String(length=100), nullable=False),
        sa.Column('sku', sa.String(length=200), nullable=False),
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('quantity', sa.String(length=40), nullable=False),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_supply_reservations_pair', 'supply_reservations', ['location', 'sku'])
    op.create_index('ix_supply_reservations_order', 'supply_reservations', ['order_id'])
    op.create_table(
        'supply_promises',
        sa.Column('order_id', sa.String(length=200), nullable=False),
        sa.Column('decision_id', sa.String(length=80), nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.Column('promise', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('order_id'),
    )
    op.create_table(
        'supply_seeds',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('ruleset', sa.String(length=300), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('supply_seeds')
    op.drop_table('supply_promises')
    op.drop_index('ix_supply_reservations_order', table_name='supply_reservations')
    op.drop_index('ix_supply_reservations_pair', table_name='supply_reservations')
    op.drop_table('supply_reservations')
    op.drop_index('ix_supply_events_sku', table_name='supply_events')
    op.drop_table('supply_events')
