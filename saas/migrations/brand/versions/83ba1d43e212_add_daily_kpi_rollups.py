"""add daily KPI rollups

Revision ID: 83ba1d43e212
Revises: 5a898ab9058f
Create Date: 2026-12-04 23:16:38.875800
"""

import sqlalchemy as sa
from alembic import op

import saas.db

revision = '83ba1d43e212'
down_revision = '5a898ab9058f'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kpi_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('dimension', sa.String(length=20), nullable=False),
    sa.Column('value', sa.String(length=80), nullable=False),
    sa.Column('new_members', sa.BigInteger(), nullable=False),
    sa.Column('points_earned', sa.BigInteger(), nullable=False),
    sa.Column('points_redeemed', sa.BigInteger(), nullable=False),
    sa.Column('points_expired', sa.BigInteger(), nullable=False),
    sa.Column('points_adjusted', sa.BigInteger(), nullable=False),
    sa.Column('points_other', sa.BigInteger(), nullable=False),
    sa.Column('orders', sa.BigInteger(), nullable=False),
    sa.Column('revenue_minor', sa.BigInteger(), nullable=False),
    sa.Column('member_orders', sa.BigInteger(), nullable=False),
    sa.Column('member_revenue_minor', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kpi_day')),
    sa.UniqueConstraint('day', 'dimension', 'value', name=op.f('uq_kpi_day_day_dimension_value'))
    )
    op.create_table('rollup_watermark',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('last_id', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source', name=op.f('pk_rollup_watermark'))
    )


def downgrade() -> None:
    op.drop_table('rollup_watermark')
    op.drop_table('kpi_day')
