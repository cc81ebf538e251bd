from __future__ import annotations

from obolo.errors import InvalidRequest, NotFound


class UnknownEventType(InvalidRequest):
    code = "unknown_event_type"


class InvalidUrl(InvalidRequest):
    code = "invalid_url"


class EndpointNotFound(NotFound):
    code = "not_found"
