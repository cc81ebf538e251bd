from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select

from obolo.adapters.db.engine import make_engine
from obolo.adapters.db.migrate import alembic_config, current_revision, head_revision, upgrade
from obolo.adapters.db.schema import metadata, providers, purchases, users
from obolo.adapters.db.schema_sms import sms_phones
from obolo.ledger import Account, Ledger, Transfer


def test_migrations_build_exactly_the_schema_the_code_queries(empty_db_url):
    """Applying every migration yields the tables, columns, indexes the code declares."""
    engine = make_engine(empty_db_url)
    upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert diff == []


def test_upgrade_is_safe_to_run_twice(empty_db_url):
    """A second upgrade finds nothing to do and leaves the database at head."""
    engine = make_engine(empty_db_url)
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_the_language_a_number_chose_moves_to_its_account(empty_db_url):
    """0025: an account whose number chose Italian by SMS reads Italian everywhere after the
    upgrade; an account without a number keeps its own."""
    engine = make_engine(empty_db_url)
    upgrade(engine, "0024_user_language")
    with engine.begin() as connection:
        for user_id in ("texts", "web"):
            connection.execute(
                insert(users).values(id=user_id, email=f"{user_id}@example.com", password_hash=None,
                                     display_name=user_id, phone=None, created_at=1)
            )  # fmt: skip
        connection.execute(
            insert(sms_phones).values(
                phone="+393331234567", user_id="texts", pin_hash=None, pin_failures=0, locked_until=0,
                language="it", show_balance=False, verified_at=1, created_at=1,
            )
        )  # fmt: skip
    upgrade(engine)
    with engine.connect() as connection:
        languages = dict(connection.execute(select(users.c.id, users.c.language)).all())
    engine.dispose()
    assert languages == {"texts": "it", "web": "en"}


def test_existing_providers_keep_a_day_and_earlier_purchases_their_day(empty_db_url):
    """0029: a provider registered before keeps the one-day re-access period (the server
    default); what was bought before keeps no period of its own (NULL, read as that day)."""
    engine = make_engine(empty_db_url)
    upgrade(engine, "0028_item_titles")
    with engine.begin() as connection:
        connection.execute(
            insert(users).values(id="owner", email="owner@example.com", password_hash=None,
                                 display_name="owner", phone=None, created_at=1)
        )  # fmt: skip
        connection.execute(
            insert(providers).values(id="site", user_id="owner", name="Site", origin="https://s.example",
                                     created_at=1)
        )  # fmt: skip
        connection.execute(
            insert(purchases).values(id="p1", reader_id="owner", provider_id="site", resource="/a",
                                     bought_at=1)
        )  # fmt: skip
    upgrade(engine)
    with engine.connect() as connection:
        period = connection.execute(select(providers.c.reaccess_seconds)).scalar_one()
        bought_under = connection.execute(select(purchases.c.reaccess_seconds)).scalar_one()
    engine.dispose()
    assert (period, bought_under) == (24 * 3600, None)


def test_account_updates_stay_on_their_page_after_0030(empty_postgres_url):
    """0030: on PostgreSQL a batch's account updates are heap-only (HOT): the fill factor
    leaves room on each page, so no account gets a new primary key entry. Without it a
    fresh table's pages are full and the first update of most rows moves them."""
    ledger = Ledger.connect(empty_postgres_url)
    accounts = 600
    assert ledger.create_accounts([Account(i, "EUR", 1) for i in range(1, accounts + 1)]) == ["ok"] * accounts
    transfers = [Transfer(1_000 + i, i, i % accounts + 1, 5, "EUR", 1) for i in range(1, accounts + 1)]
    with ledger.transaction() as session:
        assert session.create_transfers(transfers) == ["ok"] * accounts
        updated, hot = session.connection.exec_driver_sql(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'ledger_accounts'"
        ).one()
    ledger.close()
    assert updated == accounts
    assert hot == accounts


def test_0030_leaves_the_fill_factor_as_it_was_when_undone(empty_postgres_url):
    engine = make_engine(empty_postgres_url)
    upgrade(engine, "0030_ledger_accounts_fillfactor")
    options = "SELECT reloptions FROM pg_class WHERE relname = 'ledger_accounts' AND relkind = 'r'"
    with engine.connect() as connection:
        assert connection.exec_driver_sql(options).scalar() == ["fillfactor=50"]
    command.downgrade(alembic_config(engine), "-1")
    with engine.connect() as connection:
        assert connection.exec_driver_sql(options).scalar() is None
    engine.dispose()
