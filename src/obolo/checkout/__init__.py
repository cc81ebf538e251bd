"""Checkout: payment requests for shops and auction sites, paid once from the wallet
(hosted page, the browser's Payment Request, the API or SMS), with buyer protection.

`model` holds the pure rules (no I/O); the use cases are split by who acts: `merchant`
(create, refund), `paying` (the payer), `protection` (held money: receipt, disputes,
auto-release) and `sweeps` (the background jobs); `service` joins them.
"""
