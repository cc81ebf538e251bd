"""The background jobs of checkout: open requests past their expiry are marked expired
(nothing was ever held for them), held payments past their window go to the seller.
Each run takes due rows in batches, skipping rows other workers hold on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select, update

from obolo.adapters.db.engine import is_sqlite
from obolo.adapters.db.schema_checkout import checkout_requests
from obolo.checkout.model import Release, Status
from obolo.checkout.protection import Protection
from obolo.ledger import LedgerSession
from obolo.webhooks.outbox import record_event

SYSTEM = "system"


class Sweeps(Protection):
    def _due(self, session: LedgerSession, status: Status, column: str, limit: int) -> list[str]:
        now = self.clock()
        query = (
            select(checkout_requests.c.id)
            .where(checkout_requests.c.status == str(status), checkout_requests.c[column] <= now)
            .order_by(checkout_requests.c[column])
            .limit(limit)
        )
        if not is_sqlite(self.engine):
            query = query.with_for_update(skip_locked=True)
        return list(session.connection.execute(query).scalars())

    def expire_due(self, limit: int = 1_000) -> int:
        """Mark open requests past their expiry as expired and tell their merchants."""

        def work(session: LedgerSession) -> int:
            now = self.clock()
            ids = self._due(session, Status.OPEN, "expires_at", limit)
            for request_id in ids:
                row = self._row(session.connection, request_id)
                session.connection.execute(
                    update(checkout_requests)
                    .where(
                        checkout_requests.c.id == request_id, checkout_requests.c.status == str(Status.OPEN)
                    )
                    .values(status=str(Status.EXPIRED))
                )
                data = {"payment_request_id": row.id, "reference": row.reference}
                record_event(session.connection, row.merchant_id, "payment_request.expired", data, now)
            return len(ids)

        return self.ledger.run(work)

    def release_due(self, limit: int = 1_000) -> int:
        """Post held payments nobody disputed within their window to their sellers."""

        def work(session: LedgerSession) -> int:
            now = self.clock()
            ids = self._due(session, Status.HELD, "release_at", limit)
            for request_id in ids:
                self._settle(
                    session, self._row(session.connection, request_id), Release.AUTOMATIC, SYSTEM, now
                )
            return len(ids)

        return self.ledger.run(work)
