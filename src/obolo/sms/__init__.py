"""Money by SMS: plain-text commands parsed into wallet use cases, PIN-confirmed sends, money held for
numbers not yet registered. The gateway itself is an adapter; this package never does I/O but through it."""
