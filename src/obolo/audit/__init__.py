"""The audit trail: an append-only log of operator and security-relevant actions, each
entry chained to the one before by SHA-256 so that altering or removing one shows."""
