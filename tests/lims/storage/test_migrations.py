"""The Alembic migrations produce exactly the models' schema, on both backends."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import lims.models  # noqa: F401
from lims.storage.schema import is_current


def test_migrations_match_models(engine):
    assert is_current(engine)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == []


def test_one_head():
    """Migrations form one line: a second head means a merge revision is missing."""
    from lims.storage.schema import latest_heads

    assert len(latest_heads()) == 1, latest_heads()
