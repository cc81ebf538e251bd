"""Tables of the tasks product, on the one shared metadata (see `schema`)."""

from __future__ import annotations
