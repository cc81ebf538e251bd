"""Pay per view and per call: providers, PayWord channels reserved in the ledger and
settled from the provider's highest claim."""
