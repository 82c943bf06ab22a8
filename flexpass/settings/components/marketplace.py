"""Marketplace: platform fee, order and pass windows, catalog caching, rewards.

Money in integer paise, percentages as strings (flexpass.money.percent_of
rounds them, half-up, to whole paise). The marketplace's periodic jobs are
added to the beat schedule here so the app stays self-contained.
"""

from datetime import timedelta

import environ

from .celery import CELERY_BEAT_SCHEDULE

env = environ.Env()

# Share of every purchase kept by the platform; the rest goes to the vendor's payable.
MARKETPLACE_PLATFORM_FEE_PERCENT = env.str("MARKETPLACE_PLATFORM_FEE_PERCENT", default="10")
# A mixed-payment order waits this long for the gateway part before it expires
# and releases the reserved wallet part.
ORDER_PAYMENT_TIMEOUT_MINUTES = env.int("ORDER_PAYMENT_TIMEOUT_MINUTES", default=30)
# Time passes get an "expiring soon" notification this long before they end.
PASS_EXPIRING_SOON_MINUTES = env.int("PASS_EXPIRING_SOON_MINUTES", default=60)
# Catalog and service page fragments live this long at most (they are also
# invalidated whenever a service, plan, vendor or category changes).
CATALOG_CACHE_SECONDS = env.int("CATALOG_CACHE_SECONDS", default=300)
CATALOG_PAGE_SIZE = env.int("CATALOG_PAGE_SIZE", default=12)

# Rewards (marketplace.rewards).
CASHBACK_PERCENT = env.str("CASHBACK_PERCENT", default="5")
CASHBACK_REFUND_WINDOW_HOURS = env.int("CASHBACK_REFUND_WINDOW_HOURS", default=24)
# A vendor's share of a sale stays in their payable this long before it can be
# moved to their wallet, so a refund inside the window can always take it back.
EARNINGS_HOLD_HOURS = env.int("EARNINGS_HOLD_HOURS", default=CASHBACK_REFUND_WINDOW_HOURS)
REFERRAL_REFERRER_REWARD_PAISE = env.int("REFERRAL_REFERRER_REWARD_PAISE", default=500)
REFERRAL_REFEREE_REWARD_PAISE = env.int("REFERRAL_REFEREE_REWARD_PAISE", default=250)

CELERY_BEAT_SCHEDULE.update(
    {
        "marketplace-passes-expire": {
            "task": "marketplace.tasks.passes_expire",
            "schedule": timedelta(minutes=1),
        },
        "marketplace-passes-notify-expiring": {
            "task": "marketplace.tasks.passes_notify_expiring",
            "schedule": timedelta(minutes=5),
        },
        "marketplace-orders-expire": {
            "task": "marketplace.tasks.orders_expire",
            "schedule": timedelta(minutes=1),
        },
        "marketplace-cashback-release": {
            "task": "marketplace.tasks.cashback_release",
            "schedule": timedelta(minutes=5),
        },
        # Receipts whose after-commit email task was lost (broker down, worker killed).
        "marketplace-receipts-retry": {
            "task": "marketplace.tasks.receipts_send_due",
            "schedule": timedelta(minutes=1),
        },
    }
)

# OpenAPI: name the marketplace's enums instead of letting them collide with other "status"/"kind"s.
from .drf import SPECTACULAR_SETTINGS  # noqa: E402

SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "PassStatusEnum": "marketplace.models.PassStatus",
        "PurchaseStatusEnum": "marketplace.models.PurchaseStatus",
        "OrderStatusEnum": "marketplace.models.OrderStatus",
        "PlanKindEnum": "marketplace.models.PlanKind",
        "MeteredUnitEnum": "marketplace.models.MeteredUnit",
    }
)
