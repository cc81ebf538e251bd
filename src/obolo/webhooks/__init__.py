"""Events and webhooks: events are written to an outbox in the same transaction as the
money movement they describe, then delivered, signed, to the endpoints that asked."""
