"""People and access: users, passwords, sessions, API keys, roles, login throttling."""
