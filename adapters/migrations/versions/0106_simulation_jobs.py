"""simulation_jobs, simulation_order_chunks: simulations stored in the database

Simulation jobs lived in one process's memory (and their summary and report in its work
directory), so another instance over the same database answered 404 for them, and a job whose
process died stayed "running" forever. A job is now a row any instance reads, with a lease the
running instance renews; an uploaded order stream is kept compressed beside it until it ends.

Revision ID: 0106
Revises: 0104
Create Date: 2026-12-03 08:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0106'
down_revision = '0104'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'simulation_jobs',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('baseline', sa.String(length=300), nullable=False),
        sa.Column('candidate', sa.String(length=300), nullable=False),
        sa.Column('baseline_ref', sa.String(length=300), nullable=False),
        sa.Column('candidate_ref', sa.String(length=300), nullable=False),
        sa.Column('options', sa.Text(), nullable=False),
        sa.Column('started_by', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('leased_by', sa.String(length=200), nullable=True),
        sa.Column('leased_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('orders_done', sa.Integer(), nullable=False),
        sa.Column('orders_total', sa.Integer(), nullable=True),
        sa.Column('bytes_done', sa.BigInteger(), nullable=False),
        sa.Column('bytes_total', sa.BigInteger(), nullable=True),
        sa.Column('summary', sa.LargeBinary(), nullable=True),
        sa.Column('report', sa.LargeBinary(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_simulation_jobs_state_lease', 'simulation_jobs',
                    ['state', 'leased_until'])
    op.create_index('ix_simulation_jobs_created', 'simulation_jobs', ['created_at'])
    op.create_table(
        'simulation_order_chunks',
        sa.Column('job_id', sa.String(length=40), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['job_id'], ['simulation_jobs.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('job_id', 'seq'),
    )


def downgrade() -> None:
    op.drop_table('simulation_order_chunks')
    op.drop_index('ix_simulation_jobs_created', table_name='simulation_jobs')
    op.drop_index('ix_simulation_jobs_state_lease', table_name='simulation_jobs')
    op.drop_table('simulation_jobs')
