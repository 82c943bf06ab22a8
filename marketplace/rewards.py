"""Rewards on purchases: cashback, referral bonuses, badges, receipt emails.

Stubs until the rewards feature lands; the marketplace calls these at fixed points.
"""


def rewards_on_purchase(*, purchase) -> None:
    pass


def cashback_release_due(*, now=None) -> int:
    return 0


def receipt_email_send(*, purchase_id: int) -> None:
    pass
