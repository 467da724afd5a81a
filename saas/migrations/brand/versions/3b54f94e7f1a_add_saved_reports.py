"""Add saved reports

Revision ID: 3b54f94e7f1a
Revises: 715106ec283f
Create Date: 2026-12-04 23:57:22.456292
"""

import sqlalchemy as sa
from alembic import op

import saas.db

revision = '3b54f94e7f1a'
down_revision = '715106ec283f'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('saved_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('owner', sa.String(length=320), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('schedule', sa.String(length=16), nullable=False),
    sa.Column('recipients', sa.String(length=2000), nullable=False),
    sa.Column('created_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_sent_at', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_report'))
    )


def downgrade() -> None:
    op.drop_table('saved_report')
