"""Tap to pay: cards and tags linked to wallets, terminals online and offline, transit fare capping."""
