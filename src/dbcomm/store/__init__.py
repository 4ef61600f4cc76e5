"""Persistence: SQLAlchemy models, the engine, migrations and repository functions."""
