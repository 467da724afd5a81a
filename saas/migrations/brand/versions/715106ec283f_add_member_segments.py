"""Add member segments, their assignments and history

Revision ID: 715106ec283f
Revises: 0ad2347f8b2d
Create Date: 2026-12-04 23:47:42.563867
"""

import sqlalchemy as sa
from alembic import op

import saas.db

revision = '715106ec283f'
down_revision = '0ad2347f8b2d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('segment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('centre', sa.JSON(), nullable=False),
    sa.Column('computed_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segment')),
    sa.UniqueConstraint('code', name=op.f('uq_segment_code'))
    )
    op.create_table('segment_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('computed_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('segment_code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('monetary_minor', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segment_history'))
    )
    with op.batch_alter_table('segment_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_segment_history_computed_at'), ['computed_at'], unique=False)

    op.create_table('member_segment',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('segment_code', sa.String(length=64), nullable=False),
    sa.Column('recency_days', sa.Float(), nullable=False),
    sa.Column('frequency', sa.Integer(), nullable=False),
    sa.Column('monetary_minor', sa.BigInteger(), nullable=False),
    sa.Column('points_earned', sa.BigInteger(), nullable=False),
    sa.Column('points_redeemed', sa.BigInteger(), nullable=False),
    sa.Column('r_score', sa.Integer(), nullable=False),
    sa.Column('f_score', sa.Integer(), nullable=False),
    sa.Column('m_score', sa.Integer(), nullable=False),
    sa.Column('computed_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_member_segment_member_id_member')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_member_segment'))
    )
    with op.batch_alter_table('member_segment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_segment_segment_code'), ['segment_code'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('member_segment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_segment_segment_code'))

    op.drop_table('member_segment')
    with op.batch_alter_table('segment_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_segment_history_computed_at'))

    op.drop_table('segment_history')
    op.drop_table('segment')
