"""Ways in: HTTP API, web pages, CLI and background workers. They translate requests
into service calls and back; nothing else imports them."""
