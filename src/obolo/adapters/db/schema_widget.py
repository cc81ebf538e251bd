"""Tables of the widget product, on the one shared metadata (see `schema`)."""

from __future__ import annotations
