"""Add region move requests

Revision ID: 81a6aeb1f135
Revises: c94ded2e2519
Create Date: 2026-12-04 22:52:36.284432
"""

import sqlalchemy as sa
from alembic import op

import saas.db

revision = '81a6aeb1f135'
down_revision = 'c94ded2e2519'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('region_move_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('from_region', sa.String(length=32), nullable=False),
    sa.Column('to_region', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('requested_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], name=op.f('fk_region_move_request_brand_id_brand'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_region_move_request'))
    )
    with op.batch_alter_table('region_move_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_region_move_request_brand_id'), ['brand_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('region_move_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_region_move_request_brand_id'))

    op.drop_table('region_move_request')
