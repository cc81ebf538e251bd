"""ledger_accounts leaves half of each page free (PostgreSQL fill factor 50), so that the
update of an account's totals can stay on the row's page: a heap-only (HOT) update, with
no new entry in the primary key. No column a batch updates is indexed (the primary key on
id is the table's only index), so nothing else stands in the way of HOT.

Half, because a batch updates each account once and a settlement batch can touch most
of the accounts on a page: each needs room for its new version until the old ones are
pruned. With 8,000 transfers over 10,000 accounts the UPDATE cost the server 25 ms of
CPU at 100, 20 ms at 75, 16 ms at 50. The price is an accounts table twice the size;
accounts are few beside transfers.

The table is not rewritten. `ALTER TABLE ... SET (fillfactor)` only takes a SHARE UPDATE
EXCLUSIVE lock, which lets reads and writes through, and changes no page: pages written
from now on keep the space, full ones gain it as their rows move and vacuum frees them.
Rewriting the table at once (VACUUM FULL, CLUSTER) would hold an ACCESS EXCLUSIVE lock on
every account for as long as it takes, stopping every payment: something to do, if at
all, in a maintenance window, or with pg_repack. A new database has no rows yet, so its
pages get the space from the start.

SQLite has no fill factor: nothing to do there.

Revision ID: 0030_ledger_accounts_fillfactor
Revises: 0029_provider_reaccess_period
"""

from alembic import op

revision = "0030_ledger_accounts_fillfactor"
down_revision = "0029_provider_reaccess_period"
branch_labels = None
depends_on = None

FILL_FACTOR = 50


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE ledger_accounts SET (fillfactor = {FILL_FACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE ledger_accounts RESET (fillfactor)")
