"""Add partner applications, service objectives and request measurements

Revision ID: 5a898ab9058f
Revises: 4d2efcf78e00
Create Date: 2026-12-04 23:15:59.926189
"""

import sqlalchemy as sa
from alembic import op

import saas.db

revision = '5a898ab9058f'
down_revision = '4d2efcf78e00'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('endpoint', sa.String(length=80), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('duration_ms', sa.Double(), nullable=False),
    sa.Column('at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_api_request_partner_id_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_request'))
    )
    with op.batch_alter_table('api_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_request_at'), ['at'], unique=False)

    op.create_table('partner_sla_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.Column('server_errors', sa.Integer(), nullable=False),
    sa.Column('client_errors', sa.Integer(), nullable=False),
    sa.Column('p50_ms', sa.Double(), nullable=True),
    sa.Column('p95_ms', sa.Double(), nullable=True),
    sa.Column('p99_ms', sa.Double(), nullable=True),
    sa.Column('breached', sa.Boolean(), nullable=False),
    sa.Column('breaches', sa.JSON(), nullable=True),
    sa.Column('computed_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_partner_sla_day_partner_id_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_sla_day')),
    sa.UniqueConstraint('partner_id', 'day', name=op.f('uq_partner_sla_day_partner_id_day'))
    )
    with op.batch_alter_table('partner_sla_day', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_sla_day_partner_id'), ['partner_id'], unique=False)

    with op.batch_alter_table('partner', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_availability', sa.Double(), nullable=False, server_default='99.5'))
        batch_op.add_column(sa.Column('sla_error_rate', sa.Double(), nullable=False, server_default='1.0'))
        batch_op.add_column(sa.Column('sla_p95_ms', sa.Integer(), nullable=False, server_default='300'))
        batch_op.add_column(sa.Column('application', sa.String(length=2000), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('partner', schema=None) as batch_op:
        batch_op.drop_column('application')
        batch_op.drop_column('sla_p95_ms')
        batch_op.drop_column('sla_error_rate')
        batch_op.drop_column('sla_availability')

    with op.batch_alter_table('partner_sla_day', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_sla_day_partner_id'))

    op.drop_table('partner_sla_day')
    with op.batch_alter_table('api_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_request_at'))

    op.drop_table('api_request')
