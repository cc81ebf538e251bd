"""The HTTP API (FastAPI): translates JSON to service calls and domain errors to
RFC 9457 problem+json."""
