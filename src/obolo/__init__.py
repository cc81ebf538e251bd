"""Obolo: micropayments on one exact double-entry ledger."""

__version__ = "0.1.0"
