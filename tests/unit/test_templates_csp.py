"""Pages are sent with `style-src 'self'; script-src 'self'`: a browser ignores any style or
script written into a page, so no template may carry one (the page would show unstyled)."""

from __future__ import annotations

import re
from pathlib import Path

import obolo.entrypoints.web as web

TEMPLATES = Path(web.__file__).parent / "templates"
INLINE = re.compile(r"<style\b|<script\b(?![^>]*\bsrc=)", re.IGNORECASE)


def test_no_template_writes_a_style_or_a_script_into_the_page():
    found = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0)}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for match in INLINE.finditer(path.read_text())
    ]
    assert found == []
