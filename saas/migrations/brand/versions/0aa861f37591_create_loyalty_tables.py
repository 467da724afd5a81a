"""create loyalty tables

Revision ID: 0aa861f37591
Revises: dd3b4f0400c6
Create Date: 2026-12-04 20:35:46.974001
"""

import sqlalchemy as sa
from alembic import op

import saas.db

revision = '0aa861f37591'
down_revision = 'dd3b4f0400c6'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('earn_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('stacking', sa.String(length=16), nullable=False),
    sa.Column('rounding', sa.String(length=16), nullable=False),
    sa.Column('conditions', sa.JSON(), nullable=False),
    sa.Column('actions', sa.JSON(), nullable=False),
    sa.Column('valid_from', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_until', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_earn_rule')),
    sa.UniqueConstraint('code', name=op.f('uq_earn_rule_code'))
    )
    op.create_table('exchange_rate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('rate', sa.String(length=40), nullable=False),
    sa.Column('valid_from', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_rate')),
    sa.UniqueConstraint('currency', 'valid_from', name=op.f('uq_exchange_rate_currency_valid_from'))
    )
    op.create_table('idempotency_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=80), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('completed', sa.Boolean(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response', sa.JSON(), nullable=True),
    sa.Column('created_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_record')),
    sa.UniqueConstraint('scope', 'key', name=op.f('uq_idempotency_record_scope_key'))
    )
    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_record_expires_at'), ['expires_at'], unique=False)

    op.create_table('reward',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.JSON(), nullable=False),
    sa.Column('description', sa.JSON(), nullable=False),
    sa.Column('cost_points', sa.BigInteger(), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=True),
    sa.Column('per_member_limit', sa.Integer(), nullable=True),
    sa.Column('valid_from', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_until', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('voucher_valid_days', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.CheckConstraint('stock IS NULL OR stock >= 0', name=op.f('ck_reward_stock_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reward')),
    sa.UniqueConstraint('code', name=op.f('uq_reward_code'))
    )
    op.create_table('tier',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.JSON(), nullable=False),
    sa.Column('threshold', sa.BigInteger(), nullable=False),
    sa.Column('multiplier', sa.String(length=20), nullable=False),
    sa.Column('benefits', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tier')),
    sa.UniqueConstraint('code', name=op.f('uq_tier_code'))
    )
    op.create_table('member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('locale', sa.String(length=16), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('joined_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('debt', sa.BigInteger(), nullable=False),
    sa.Column('tier_id', sa.Integer(), nullable=True),
    sa.Column('tier_since', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_activity_at', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('created_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('debt >= 0', name=op.f('ck_member_debt_not_negative')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['member.id'], name=op.f('fk_member_merged_into_id_member')),
    sa.ForeignKeyConstraint(['tier_id'], ['tier.id'], name=op.f('fk_member_tier_id_tier')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member')),
    sa.UniqueConstraint('ref', name=op.f('uq_member_ref'))
    )
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_email'), ['email'], unique=False)

    op.create_table('ledger_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=80), nullable=False),
    sa.Column('reference_type', sa.String(length=20), nullable=True),
    sa.Column('reference_id', sa.BigInteger(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('occurred_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_ledger_entry_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entry'))
    )
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entry_member_id_id', ['member_id', 'id'], unique=False)
        batch_op.create_index('ix_ledger_entry_recorded', ['recorded_at'], unique=False)
        batch_op.create_index('ix_ledger_entry_reference', ['reference_type', 'reference_id'], unique=False)

    op.create_table('purchase_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=80), nullable=False),
    sa.Column('ref', sa.String(length=128), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('base_amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('fx_rate', sa.String(length=40), nullable=False),
    sa.Column('ordered_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=True),
    sa.Column('partner', sa.String(length=80), nullable=True),
    sa.Column('location', sa.String(length=80), nullable=True),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('cancelled_at', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_purchase_order_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_order')),
    sa.UniqueConstraint('source', 'ref', name=op.f('uq_purchase_order_source_ref'))
    )
    with op.batch_alter_table('purchase_order', schema=None) as batch_op:
        batch_op.create_index('ix_purchase_order_member_ordered', ['member_id', 'ordered_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchase_order_ordered_at'), ['ordered_at'], unique=False)

    op.create_table('redemption',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('reward_id', sa.Integer(), nullable=True),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=80), nullable=False),
    sa.Column('voucher_code', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('issued_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('used_at', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('used_by', sa.String(length=80), nullable=True),
    sa.Column('cancelled_at', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_redemption_member_id_member')),
    sa.ForeignKeyConstraint(['reward_id'], ['reward.id'], name=op.f('fk_redemption_reward_id_reward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemption')),
    sa.UniqueConstraint('voucher_code', name=op.f('uq_redemption_voucher_code'))
    )
    with op.batch_alter_table('redemption', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_redemption_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_redemption_reward_id'), ['reward_id'], unique=False)

    op.create_table('lot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('remaining', sa.BigInteger(), nullable=False),
    sa.Column('earned_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('remaining >= 0', name=op.f('ck_lot_remaining_not_negative')),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entry.id'], name=op.f('fk_lot_entry_id_ledger_entry')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_lot_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot'))
    )
    with op.batch_alter_table('lot', schema=None) as batch_op:
        batch_op.create_index('ix_lot_expires', ['expires_at'], unique=False)
        batch_op.create_index('ix_lot_member_open', ['member_id', 'earned_at'], unique=False)

    op.create_table('order_refund',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=128), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('is_cancellation', sa.Boolean(), nullable=False),
    sa.Column('refunded_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['purchase_order.id'], name=op.f('fk_order_refund_order_id_purchase_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_refund')),
    sa.UniqueConstraint('order_id', 'ref', name=op.f('uq_order_refund_order_id_ref'))
    )
    with op.batch_alter_table('order_refund', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_refund_order_id'), ['order_id'], unique=False)

    op.create_table('lot_allocation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entry.id'], name=op.f('fk_lot_allocation_entry_id_ledger_entry')),
    sa.ForeignKeyConstraint(['lot_id'], ['lot.id'], name=op.f('fk_lot_allocation_lot_id_lot')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot_allocation'))
    )
    with op.batch_alter_table('lot_allocation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lot_allocation_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lot_allocation_lot_id'), ['lot_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('lot_allocation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lot_allocation_lot_id'))
        batch_op.drop_index(batch_op.f('ix_lot_allocation_entry_id'))

    op.drop_table('lot_allocation')
    with op.batch_alter_table('order_refund', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_refund_order_id'))

    op.drop_table('order_refund')
    with op.batch_alter_table('lot', schema=None) as batch_op:
        batch_op.drop_index('ix_lot_member_open')
        batch_op.drop_index('ix_lot_expires')

    op.drop_table('lot')
    with op.batch_alter_table('redemption', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_redemption_reward_id'))
        batch_op.drop_index(batch_op.f('ix_redemption_member_id'))

    op.drop_table('redemption')
    with op.batch_alter_table('purchase_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_order_ordered_at'))
        batch_op.drop_index('ix_purchase_order_member_ordered')

    op.drop_table('purchase_order')
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entry_reference')
        batch_op.drop_index('ix_ledger_entry_recorded')
        batch_op.drop_index('ix_ledger_entry_member_id_id')

    op.drop_table('ledger_entry')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_email'))

    op.drop_table('member')
    op.drop_table('tier')
    op.drop_table('reward')
    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_record_expires_at'))

    op.drop_table('idempotency_record')
    op.drop_table('exchange_rate')
    op.drop_table('earn_rule')
