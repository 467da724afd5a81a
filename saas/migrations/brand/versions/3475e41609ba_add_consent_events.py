"""add consent events

Revision ID: 3475e41609ba
Revises: 6dbed90fe39b
Create Date: 2026-12-04 21:57:48.213600
"""

import sqlalchemy as sa
from alembic import op

import saas.db

revision = '3475e41609ba'
down_revision = '6dbed90fe39b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consent_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=80), nullable=False),
    sa.Column('recorded_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_consent_event_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_event'))
    )
    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_event_member_id'), ['member_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_event_member_id'))

    op.drop_table('consent_event')
