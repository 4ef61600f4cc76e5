"""Alembic environment: always called from dbcomm.store.migrate with a live connection."""

from alembic import context

from dbcomm.store.migrate import include_object
from dbcomm.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - offline SQL generation is not used
    raise RuntimeError("run migrations through dbcomm.store.migrate")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
