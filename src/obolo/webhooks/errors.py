from __future__ import annotations

from obolo.errors import InvalidRequest, NotFound


class UnknownEventType(InvalidRequest):
    code = "unknown_event_type"


class InvalidUrl(InvalidRequest):
    code = "invalid_url"


class UrlNotAllowed(InvalidRequest):
    """The URL's host is an internal address (or a name for one): the server will not
    send there, unless OBOLO_EGRESS_ALLOW names it."""

    code = "url_not_allowed"


class EndpointNotFound(NotFound):
    code = "not_found"
