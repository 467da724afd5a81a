"""add the audit trail

Revision ID: e013040e05c4
Revises: 3475e41609ba
Create Date: 2026-12-04 22:14:17.709439
"""

import sqlalchemy as sa
from alembic import op

import saas.db

revision = 'e013040e05c4'
down_revision = '3475e41609ba'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=100), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('client_address', sa.String(length=64), nullable=True),
    sa.Column('recorded_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('previous_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entry'))
    )
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    # The chain starts from one head row, so concurrent first writers lock it instead of
    # racing to create it.
    head = sa.table("audit_head", sa.column("id", sa.Integer), sa.column("last_hash", sa.String))
    op.bulk_insert(head, [{"id": 1, "last_hash": "0" * 64}])


def downgrade() -> None:
    op.drop_table('audit_head')
    op.drop_table('audit_entry')
