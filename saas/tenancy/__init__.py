"""Tenant resolution, per-brand engines and sessions, provisioning and migrations."""
