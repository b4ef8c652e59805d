"""Alembic migrations for the service's tables, applied by `ordinance db upgrade` and at start-up."""
