"""add member accounts and the email outbox

Revision ID: 6dbed90fe39b
Revises: fcd050685829
Create Date: 2026-12-04 21:50:50.380905
"""

import sqlalchemy as sa
from alembic import op

import saas.db

revision = '6dbed90fe39b'
down_revision = 'fcd050685829'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox_email',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('to_address', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('created_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_email'))
    )
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_email_sent_at'), ['sent_at'], unique=False)

    op.create_table('member_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('verified_at', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_sign_in_at', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_member_account_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_account')),
    sa.UniqueConstraint('email', name=op.f('uq_member_account_email')),
    sa.UniqueConstraint('member_id', name=op.f('uq_member_account_member_id'))
    )


def downgrade() -> None:
    op.drop_table('member_account')
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_email_sent_at'))

    op.drop_table('outbox_email')
