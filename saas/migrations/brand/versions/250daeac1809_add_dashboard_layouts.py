"""Add dashboard layouts

Revision ID: 250daeac1809
Revises: 3b54f94e7f1a
Create Date: 2026-12-05 00:03:00.787483
"""

import sqlalchemy as sa
from alembic import op

import saas.db

revision = '250daeac1809'
down_revision = '3b54f94e7f1a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dashboard_layout',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_email', sa.String(length=320), nullable=False),
    sa.Column('tiles', sa.JSON(), nullable=False),
    sa.Column('updated_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_layout')),
    sa.UniqueConstraint('user_email', name=op.f('uq_dashboard_layout_user_email'))
    )


def downgrade() -> None:
    op.drop_table('dashboard_layout')
