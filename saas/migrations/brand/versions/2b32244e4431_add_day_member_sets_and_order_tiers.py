"""Add day member sets and order tiers, and rebuild the rollup

The member sets start with the rollup's first run, so the day rows and watermarks are
cleared here and the next run adds every ledger entry, order and member again. Orders
recorded before this revision have no tier.

Revision ID: 2b32244e4431
Revises: 250daeac1809
Create Date: 2026-12-05 02:07:03.953714
"""

import sqlalchemy as sa
from alembic import op

import saas.db

revision = '2b32244e4431'
down_revision = '250daeac1809'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kpi_day_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('dimension', sa.String(length=20), nullable=False),
    sa.Column('value', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('members', sa.LargeBinary(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kpi_day_members')),
    sa.UniqueConstraint('day', 'dimension', 'value', 'kind',
                        name=op.f('uq_kpi_day_members_day_dimension_value_kind'))
    )
    op.add_column('purchase_order', sa.Column('tier', sa.String(length=64), nullable=True))
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_merged_into_id'), ['merged_into_id'],
                              unique=False)
    op.execute("DELETE FROM kpi_day")
    op.execute("DELETE FROM rollup_watermark")


def downgrade() -> None:
    with op.batch_alter_table('purchase_order', schema=None) as batch_op:
        batch_op.drop_column('tier')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_merged_into_id'))

    op.drop_table('kpi_day_members')
