"""Wallets: one prepaid ledger account per person and asset; top-ups by card, payments
between people, withdrawals to a bank. Every balance change is a ledger transfer."""
