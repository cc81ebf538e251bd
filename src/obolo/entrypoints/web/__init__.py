"""Server-rendered pages (Jinja2, a little vanilla JS, no build step) on the same app as
the API. Pages only translate forms into service calls and results into HTML: the rules
live in the services. `install(app)` mounts them."""

from __future__ import annotations

from obolo.entrypoints.web.site import install

__all__ = ["install"]
