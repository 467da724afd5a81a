"""Add admin sign-in factors, recovery codes and invitations

Revision ID: c94ded2e2519
Revises: ece724cdb6bb
Create Date: 2026-12-04 22:46:29.832169
"""

import sqlalchemy as sa
from alembic import op

import saas.db

revision = 'c94ded2e2519'
down_revision = 'ece724cdb6bb'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('invited_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], name=op.f('fk_invitation_brand_id_brand'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invitation_token_hash'))
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_brand_id'), ['brand_id'], unique=False)

    op.create_table('recovery_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('used_at', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_recovery_code_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code'))
    )
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_code_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_confirmed_at', saas.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('failed_signins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('locked_until', saas.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('security_stamp', sa.String(length=32), nullable=False, server_default='initial'))

def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('security_stamp')
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_signins')
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_confirmed_at')

    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_code_user_id'))

    op.drop_table('recovery_code')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_brand_id'))

    op.drop_table('invitation')
