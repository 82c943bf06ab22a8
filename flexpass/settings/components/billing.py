"""Billing: the payment gateway, top-up limits, reconciliation and withdrawals.

The gateway is chosen by the environment only: with RAZORPAY_KEY_ID and
RAZORPAY_KEY_SECRET set, top-ups go through the real Razorpay API; without
them, through the offline simulated Razorpay (its own checkout page, its own
signed webhooks). The simulator hands out free money by design, so it is off
by default in production (not embedded, not DEBUG, DJANGO_SECURE on).
"""

import environ

env = environ.Env()
_embedded = not (env.str("DATABASE_URL", default="") or env.str("REDIS_URL", default=""))
_production = (
    not _embedded
    and not env.bool("DJANGO_DEBUG", default=False)
    and env.bool("DJANGO_SECURE", default=True)
)

# Real Razorpay (https://razorpay.com/docs/api/): keys from the dashboard. The
# webhook secret is a separate value set on the dashboard's webhook page.
RAZORPAY_KEY_ID = env.str("RAZORPAY_KEY_ID", default="")
RAZORPAY_KEY_SECRET = env.str("RAZORPAY_KEY_SECRET", default="")
RAZORPAY_WEBHOOK_SECRET = env.str("RAZORPAY_WEBHOOK_SECRET", default="")
RAZORPAY_TIMEOUT_SECONDS = env.float("RAZORPAY_TIMEOUT_SECONDS", default=10.0)

# Simulated Razorpay: offline, same order -> checkout -> signed return and
# signed webhook flow, with its own (non-secret) default secrets.
SIMULATED_RAZORPAY_ENABLED = env.bool("SIMULATED_RAZORPAY_ENABLED", default=not _production)
SIMULATED_RAZORPAY_KEY_ID = env.str("SIMULATED_RAZORPAY_KEY_ID", default="rzp_test_SIMULATED")
SIMULATED_RAZORPAY_KEY_SECRET = env.str(
    "SIMULATED_RAZORPAY_KEY_SECRET", default="sim_key_secret_not_for_production"
)
SIMULATED_RAZORPAY_WEBHOOK_SECRET = env.str(
    "SIMULATED_RAZORPAY_WEBHOOK_SECRET", default="sim_webhook_secret_not_for_production"
)
# How many times the simulator sends each webhook (same event id each time), to
# exercise deduplication the way Razorpay's at-least-once delivery does.
SIMULATED_RAZORPAY_WEBHOOK_COPIES = env.int("SIMULATED_RAZORPAY_WEBHOOK_COPIES", default=2)
# "auto": in-process when Celery runs eagerly (embedded mode, tests), else an
# HTTP POST from a Celery worker; "http", "inprocess" or "off" force one.
SIMULATED_RAZORPAY_WEBHOOK_DELIVERY = env.str("SIMULATED_RAZORPAY_WEBHOOK_DELIVERY", default="auto")

# Top-up limits, in paise.
TOPUP_MIN_PAISE = env.int("TOPUP_MIN_PAISE", default=1_000)  # ₹10
TOPUP_MAX_PAISE = env.int("TOPUP_MAX_PAISE", default=10_000_000)  # ₹1,00,000
TOPUP_DAILY_MAX_PAISE = env.int("TOPUP_DAILY_MAX_PAISE", default=20_000_000)  # ₹2,00,000
# Reconciliation asks the gateway about top-ups still open after this many
# minutes, and expires those still unpaid after TOPUP_EXPIRE_MINUTES.
TOPUP_RECONCILE_AFTER_MINUTES = env.int("TOPUP_RECONCILE_AFTER_MINUTES", default=5)
TOPUP_EXPIRE_MINUTES = env.int("TOPUP_EXPIRE_MINUTES", default=30)
TOPUP_RECONCILE_BATCH = env.int("TOPUP_RECONCILE_BATCH", default=200)
# Failed and expired top-ups stay payable at the gateway for a while: reconciliation keeps
# asking about those this recent, so a late capture is credited even without its webhook.
TOPUP_LATE_CAPTURE_HOURS = env.int("TOPUP_LATE_CAPTURE_HOURS", default=24)

# Withdrawals (simulated payouts, approved by staff).
WITHDRAWAL_MIN_PAISE = env.int("WITHDRAWAL_MIN_PAISE", default=10_000)  # ₹100
WITHDRAWAL_MAX_PAISE = env.int("WITHDRAWAL_MAX_PAISE", default=20_000_000)  # ₹2,00,000

# The webhook endpoint is public: at most this many calls per IP.
BILLING_WEBHOOK_RATE = env.str("BILLING_WEBHOOK_RATE", default="300/min")
