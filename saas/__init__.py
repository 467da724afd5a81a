"""Tessera: a multi-tenant, white-label loyalty platform."""

from saas.app import create_app

__all__ = ["create_app"]
