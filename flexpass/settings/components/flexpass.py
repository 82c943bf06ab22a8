"""FlexPass business settings: limits, fees, windows. Money in integer paise."""

import environ

env = environ.Env()

# How often the embedded ticker wakes up to run due periodic jobs.
EMBEDDED_TICKER_SECONDS = env.int("EMBEDDED_TICKER_SECONDS", default=5)
