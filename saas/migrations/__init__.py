"""Alembic environments: one for the platform database, one shared by every brand database."""
