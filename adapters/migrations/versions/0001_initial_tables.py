"""initial tables

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 19:04:17.496330
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('approves', sa.Text(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('key_name', sa.String(length=200), nullable=False),
    sa.Column('key_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=True),
    sa.Column('decision_id', sa.String(length=40), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_decision_id'), ['decision_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_order_id'), ['order_id'], unique=False)

    op.create_table('decisions',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('key_name', sa.String(length=200), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('ruleset_name', sa.String(length=200), nullable=False),
    sa.Column('digest', sa.String(length=80), nullable=False),
    sa.Column('as_of', sa.String(length=10), nullable=False),
    sa.Column('fired', sa.Text(), nullable=False),
    sa.Column('elapsed_us', sa.Integer(), nullable=False),
    sa.Column('request', sa.Text(), nullable=False),
    sa.Column('decision', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('id')
    )
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decisions_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_decisions_digest'), ['digest'], unique=False)
        batch_op.create_index(batch_op.f('ix_decisions_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_decisions_status'), ['status'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('customer', sa.String(length=200), nullable=True),
    sa.Column('channel', sa.String(length=100), nullable=True),
    sa.Column('country', sa.String(length=20), nullable=True),
    sa.Column('seller', sa.String(length=200), nullable=True),
    sa.Column('order_date', sa.String(length=10), nullable=False),
    sa.Column('currency', sa.String(length=10), nullable=True),
    sa.Column('total', sa.String(length=40), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('decision_id', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_channel'), ['channel'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_customer'), ['customer'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_order_date'), ['order_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_status'), ['status'], unique=False)

    op.create_table('ruleset_versions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('digest', sa.String(length=80), nullable=False),
    sa.Column('version', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'digest', name='uq_ruleset_name_digest')
    )
    op.create_table('active_ruleset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ruleset_id', sa.Integer(), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['ruleset_id'], ['ruleset_versions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('approval_tasks',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('order_version', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=200), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('rules', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acted_by', sa.String(length=200), nullable=True),
    sa.Column('acted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('approval_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_approval_order', ['order_id', 'order_version'], unique=False)
        batch_op.create_index(batch_op.f('ix_approval_tasks_state'), ['state'], unique=False)

    op.create_table('order_lines',
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=200), nullable=True),
    sa.Column('category', sa.String(length=200), nullable=True),
    sa.Column('brand', sa.String(length=200), nullable=True),
    sa.Column('quantity', sa.String(length=40), nullable=False),
    sa.Column('net', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('order_id', 'line_no')
    )
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_lines_sku'), ['sku'], unique=False)

    op.create_table('order_versions',
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('order', sa.Text(), nullable=False),
    sa.Column('decision_id', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('order_id', 'version')
    )
    op.create_table('ruleset_activations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ruleset_id', sa.Integer(), nullable=False),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['ruleset_id'], ['ruleset_versions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('ruleset_files',
    sa.Column('ruleset_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=1000), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['ruleset_id'], ['ruleset_versions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ruleset_id', 'path')
    )


def downgrade() -> None:
    op.drop_table('ruleset_files')
    op.drop_table('ruleset_activations')
    op.drop_table('order_versions')
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_lines_sku'))

    op.drop_table('order_lines')
    with op.batch_alter_table('approval_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_tasks_state'))
        batch_op.drop_index('ix_approval_order')

    op.drop_table('approval_tasks')
    op.drop_table('active_ruleset')
    op.drop_table('ruleset_versions')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_status'))
        batch_op.drop_index(batch_op.f('ix_orders_order_date'))
        batch_op.drop_index(batch_op.f('ix_orders_customer'))
        batch_op.drop_index(batch_op.f('ix_orders_channel'))

    op.drop_table('orders')
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decisions_status'))
        batch_op.drop_index(batch_op.f('ix_decisions_order_id'))
        batch_op.drop_index(batch_op.f('ix_decisions_digest'))
        batch_op.drop_index(batch_op.f('ix_decisions_created_at'))

    op.drop_table('decisions')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_order_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_decision_id'))

    op.drop_table('audit_log')
    op.drop_table('api_keys')
