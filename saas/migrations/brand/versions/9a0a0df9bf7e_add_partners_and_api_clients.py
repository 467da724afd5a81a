"""Add partners, their API clients and access tokens

Revision ID: 9a0a0df9bf7e
Revises: e013040e05c4
Create Date: 2026-12-04 23:02:47.154918
"""

import sqlalchemy as sa
from alembic import op

import saas.db

revision = '9a0a0df9bf7e'
down_revision = 'e013040e05c4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('partner',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('contact_email', sa.String(length=320), nullable=True),
    sa.Column('allowed_scopes', sa.String(length=400), nullable=False),
    sa.Column('rate_limit', sa.String(length=40), nullable=False),
    sa.Column('created_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner')),
    sa.UniqueConstraint('code', name=op.f('uq_partner_code'))
    )
    op.create_table('partner_client',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('previous_secret_hash', sa.String(length=64), nullable=True),
    sa.Column('previous_valid_until', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_partner_client_partner_id_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_client')),
    sa.UniqueConstraint('client_id', name=op.f('uq_partner_client_client_id'))
    )
    with op.batch_alter_table('partner_client', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_client_partner_id'), ['partner_id'], unique=False)

    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('scopes', sa.String(length=400), nullable=False),
    sa.Column('issued_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['partner_client.id'], name=op.f('fk_api_token_client_id_partner_client')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_token_expires_at'), ['expires_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_expires_at'))
        batch_op.drop_index(batch_op.f('ix_api_token_client_id'))

    op.drop_table('api_token')
    with op.batch_alter_table('partner_client', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_client_partner_id'))

    op.drop_table('partner_client')
    op.drop_table('partner')
