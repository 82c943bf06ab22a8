"""FlexPass business settings: limits, fees, windows. Money in integer paise."""

import environ

env = environ.Env()

# How often the embedded ticker wakes up to run due periodic jobs.
EMBEDDED_TICKER_SECONDS = env.int("EMBEDDED_TICKER_SECONDS", default=5)

# Wallet
WALLET_LOW_BALANCE_DEFAULT_PAISE = env.int("WALLET_LOW_BALANCE_DEFAULT_PAISE", default=10_000)
IDEMPOTENCY_TTL_HOURS = env.int("IDEMPOTENCY_TTL_HOURS", default=24)
