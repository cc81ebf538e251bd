"""Notices to people by email (and by text for those who have only a number): written to an
outbox in the transaction that decided them, delivered by a job after it commits, so no
request waits on a gateway."""
