"""A low-balance alert is recorded once, when available funds cross the threshold downwards."""

import pytest

from wallet.models import LowBalanceAlert
from wallet.services import wallet_transfer
from wallet.tests.factories import fund, funded_wallet, wallet_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def spend(db):
    shop = wallet_for()

    def spend(wallet, amount, key):
        return wallet_transfer(
            sender=wallet.user, recipient=shop.user, amount_paise=amount, idempotency_key=key
        ).entry

    return spend


def test_alert_fires_once_when_crossing_and_not_again_on_further_debits(spend):
    # given ₹150 and an alert below ₹100
    wallet = funded_wallet(15_000, threshold_paise=10_000)
    # when spending ₹40 (still above), then ₹20 (crosses), then ₹10 (already below)
    spend(wallet, 4_000, "a")
    assert LowBalanceAlert.objects.count() == 0
    crossing = spend(wallet, 2_000, "b")
    spend(wallet, 1_000, "c")
    # then exactly one alert, for the crossing entry
    alert = LowBalanceAlert.objects.get()
    assert (alert.user_id, alert.balance_paise, alert.threshold_paise, alert.entry_id) == (
        wallet.user.pk,
        9_000,
        10_000,
        crossing.pk,
    )


def test_alert_fires_again_after_a_top_up_lifts_the_balance_back_above(spend):
    wallet = funded_wallet(15_000, threshold_paise=10_000)
    spend(wallet, 6_000, "a")  # 150 -> 90: alert
    fund(wallet, 10_000)  # 90 -> 190

    spend(wallet, 11_000, "b")  # 190 -> 80: a new crossing, a new alert

    alerts = LowBalanceAlert.objects.order_by("id").values_list("balance_paise", flat=True)
    assert list(alerts) == [9_000, 8_000]


def test_landing_exactly_on_the_threshold_is_not_low(spend):
    wallet = funded_wallet(15_000, threshold_paise=10_000)

    spend(wallet, 5_000, "a")

    assert LowBalanceAlert.objects.count() == 0


def test_credits_never_raise_alerts():
    wallet = funded_wallet(500, threshold_paise=10_000)

    fund(wallet, 100)

    assert LowBalanceAlert.objects.count() == 0
