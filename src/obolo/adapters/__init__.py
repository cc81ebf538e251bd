"""All I/O lives here, behind small interfaces: the database, the clock, and (later) the
card processor, bank payouts and SMS gateway. Nothing here decides a business rule."""
