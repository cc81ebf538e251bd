"""Server-rendered pages (Jinja2, htmx where it helps) on the same app as the API."""
