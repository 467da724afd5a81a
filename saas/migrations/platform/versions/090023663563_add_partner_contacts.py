"""Add partner contacts and partner invitations

Revision ID: 090023663563
Revises: 81a6aeb1f135
Create Date: 2026-12-04 23:18:48.592927
"""

import sqlalchemy as sa
from alembic import op

import saas.db

revision = '090023663563'
down_revision = '81a6aeb1f135'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('partner_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('partner_code', sa.String(length=64), nullable=False),
    sa.Column('created_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], name=op.f('fk_partner_contact_brand_id_brand'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_partner_contact_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_contact')),
    sa.UniqueConstraint('user_id', 'brand_id', 'partner_code', name=op.f('uq_partner_contact_user_id_brand_id_partner_code'))
    )
    with op.batch_alter_table('partner_contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_contact_brand_id'), ['brand_id'], unique=False)

    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partner_code', sa.String(length=64), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_column('partner_code')

    with op.batch_alter_table('partner_contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_contact_brand_id'))

    op.drop_table('partner_contact')
