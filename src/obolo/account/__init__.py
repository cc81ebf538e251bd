"""The account its holder manages: password, email and phone changes proved by codes,
sessions, two-factor sign-in, a copy of one's data, closing. Above identity, SMS and
wallets, which it uses (codes by SMS, the balance paid out before closing)."""
