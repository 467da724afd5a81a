"""Alembic environment of the brand database; run through saas.tenancy.migrations."""

from alembic import context

from saas.brand_models import BrandModel as Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
