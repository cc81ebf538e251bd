from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from obolo.adapters.db.engine import make_engine
from obolo.adapters.db.migrate import current_revision, head_revision, upgrade
from obolo.adapters.db.schema import metadata


def test_migrations_build_exactly_the_schema_the_code_queries(db_url):
    """Applying every migration yields the tables, columns, indexes the code declares."""
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert diff == []


def test_upgrade_is_safe_to_run_twice(db_url):
    """A second upgrade finds nothing to do and leaves the database at head."""
    engine = make_engine(db_url)
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()
