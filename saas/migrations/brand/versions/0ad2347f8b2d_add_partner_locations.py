"""Add partner locations

Revision ID: 0ad2347f8b2d
Revises: 83ba1d43e212
Create Date: 2026-12-04 23:39:32.487548
"""

import sqlalchemy as sa
from alembic import op

revision = '0ad2347f8b2d'
down_revision = '83ba1d43e212'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ALTER TABLE ADD COLUMN: a batch copy of the table would drop "partner", which
    # SQLite refuses while partner_client rows refer to it.
    op.add_column('partner', sa.Column('locations', sa.JSON(), nullable=False,
                                       server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('partner', schema=None) as batch_op:
        batch_op.drop_column('locations')

