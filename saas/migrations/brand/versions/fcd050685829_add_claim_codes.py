"""add claim codes

Revision ID: fcd050685829
Revises: 0aa861f37591
Create Date: 2026-12-04 21:47:17.580216
"""

import sqlalchemy as sa
from alembic import op

import saas.db

revision = 'fcd050685829'
down_revision = '0aa861f37591'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('claim_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('issued_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_claim_code_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_code'))
    )
    with op.batch_alter_table('claim_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_code_member_id'), ['member_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('claim_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_code_member_id'))

    op.drop_table('claim_code')
