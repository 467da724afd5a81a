"""Alembic environment of the platform database; run through saas.tenancy.migrations."""

from alembic import context

# region_moves declares a platform table outside saas.platform.models.
from saas.platform import region_moves  # noqa: F401
from saas.platform.models import PlatformModel as Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
