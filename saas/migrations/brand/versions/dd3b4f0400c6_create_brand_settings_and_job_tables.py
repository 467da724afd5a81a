"""create brand settings and job tables

Revision ID: dd3b4f0400c6
Revises: 
Create Date: 2026-12-04 20:22:53.915013
"""

import sqlalchemy as sa
from alembic import op

import saas.db

revision = 'dd3b4f0400c6'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('brand_setting',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_brand_setting'))
    )
    op.create_table('job',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('queue', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('progress_done', sa.Integer(), nullable=False),
    sa.Column('progress_total', sa.Integer(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', saas.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job'))
    )


def downgrade() -> None:
    op.drop_table('job')
    op.drop_table('brand_setting')
