"""FlexPass business settings: limits, fees, windows. Money in integer paise."""

import environ

env = environ.Env()

# How often the embedded ticker wakes up to run due periodic jobs.
EMBEDDED_TICKER_SECONDS = env.int("EMBEDDED_TICKER_SECONDS", default=5)

# Wallet
WALLET_LOW_BALANCE_DEFAULT_PAISE = env.int("WALLET_LOW_BALANCE_DEFAULT_PAISE", default=10_000)
IDEMPOTENCY_TTL_HOURS = env.int("IDEMPOTENCY_TTL_HOURS", default=24)
# A key still "in flight" this long after its request began belongs to a request that
# died; a retry may claim it (flexpass.idempotency). Far above any request's run time.
IDEMPOTENCY_IN_FLIGHT_SECONDS = env.int("IDEMPOTENCY_IN_FLIGHT_SECONDS", default=60)
