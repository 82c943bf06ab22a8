"""Staff refunds: reversing entries, proportional splits, cashback cancel/clawback, pass cuts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from marketplace import rewards, services
from marketplace.models import CashbackGrant, Pass, Purchase, Refund
from marketplace.refunds import RefundRefused, purchase_refund, share_of
from marketplace.tests.factories import (
    PlanFactory,
    assert_ledger_balanced,
    balance,
    usage_plan,
)
from support.models import Notification
from wallet.models import AccountKind, EntryKind, JournalEntry
from wallet.services import (
    Leg,
    entry_post,
    money_transaction,
    pending_account,
    platform_account,
    vendor_payable_account,
    wallet_ensure,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return UserFactory(email="ops@example.com", is_staff=True)


@pytest.fixture
def bought(funded_buyer, plan):
    """A ₹49 day pass: vendor share ₹44.10, fee ₹4.90, cashback ₹2.45 pending."""
    return services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="buy")


def refund(purchase, amount, staff, key="r1", reason="Service was down"):
    return purchase_refund(
        purchase_id=purchase.pk,
        amount_paise=amount,
        reason=reason,
        acting_user=staff,
        idempotency_key=key,
    )


def books(purchase):
    buyer = purchase.buyer
    return {
        "available": balance(wallet_ensure(user=buyer).available),
        "pending": balance(pending_account(buyer)),
        "vendor": balance(vendor_payable_account(purchase.vendor.user)),
        "revenue": balance(platform_account(AccountKind.PLATFORM_REVENUE)),
        "cashback": balance(platform_account(AccountKind.PLATFORM_CASHBACK)),
    }


def test_share_of_rounds_half_up():
    assert share_of(245, 2_450, 4_900) == 123  # 122.5 -> 123
    assert share_of(4_410, 4_900, 4_900) == 4_410
    assert share_of(1, 1, 3) == 0


def test_a_full_refund_inside_the_window_reverses_everything(bought, staff):
    # when
    result = refund(bought, 4_900, staff)

    # then
    assert books(bought) == {
        "available": 10_000,
        "pending": 0,
        "vendor": 0,
        "revenue": 0,
        "cashback": 0,
    }
    assert (result.vendor_reversed_paise, result.fee_reversed_paise) == (4_410, 490)
    assert result.cashback_cancelled_paise == 245
    bought.refresh_from_db()
    assert (bought.status, bought.refunded_paise) == ("refunded", 4_900)
    assert Pass.objects.get(purchase=bought).status == "revoked"
    grant = CashbackGrant.objects.get(purchase=bought)
    assert (grant.status, grant.cancelled_paise) == ("cancelled", 245)
    assert JournalEntry.objects.filter(kind=EntryKind.REFUND).count() == 1
    assert Notification.objects.filter(user=bought.buyer, title__startswith="Refund of ₹49.00")
    assert_ledger_balanced()


def test_a_partial_refund_splits_in_proportion_and_shortens_the_pass(bought, staff):
    the_pass = Pass.objects.get(purchase=bought)
    length = the_pass.expires_at - the_pass.starts_at

    result = refund(bought, 2_450, staff)

    assert (result.vendor_reversed_paise, result.fee_reversed_paise) == (2_205, 245)
    assert result.cashback_cancelled_paise == 123
    assert books(bought) == {
        "available": 10_000 - 4_900 + 2_450,
        "pending": 245 - 123,
        "vendor": 4_410 - 2_205,
        "revenue": 490 - 245,
        "cashback": -(245 - 123),
    }
    the_pass.refresh_from_db()
    assert the_pass.status == "active"
    assert the_pass.expires_at - the_pass.starts_at == length / 2
    grant = CashbackGrant.objects.get(purchase=bought)
    assert (grant.status, grant.outstanding_paise) == ("pending", 122)
    assert_ledger_balanced()


def test_the_rest_of_a_partly_refunded_purchase_can_be_refunded_and_no_more(bought, staff):
    refund(bought, 2_450, staff, key="r1")
    refund(bought, 2_450, staff, key="r2")
    before = books(bought)

    with pytest.raises(RefundRefused, match="already been refunded in full"):
        refund(bought, 1, staff, key="r3")

    assert (
        books(bought)
        == before
        == {"available": 10_000, "pending": 0, "vendor": 0, "revenue": 0, "cashback": 0}
    )
    assert Refund.objects.count() == 2
    assert_ledger_balanced()


def test_refunding_more_than_was_paid_is_refused_and_changes_nothing(bought, staff):
    before = books(bought)

    with pytest.raises(RefundRefused, match="At most ₹49.00"):
        refund(bought, 4_901, staff)

    assert books(bought) == before
    assert Purchase.objects.get(pk=bought.pk).refunded_paise == 0
    assert Refund.objects.count() == 0


def test_the_same_refund_key_refunds_once(bought, staff):
    first = refund(bought, 1_000, staff, key="same")
    second = refund(bought, 1_000, staff, key="same")

    assert first.pk == second.pk
    assert Purchase.objects.get(pk=bought.pk).refunded_paise == 1_000
    assert JournalEntry.objects.filter(kind=EntryKind.REFUND).count() == 1


@pytest.mark.parametrize("amount", [0, -5, 10**13])
def test_bad_refund_amounts_are_refused(bought, staff, amount):
    from wallet.errors import InvalidAmount

    with pytest.raises(InvalidAmount):
        refund(bought, amount, staff)
    assert Refund.objects.count() == 0


def test_a_refund_needs_a_reason(bought, staff):
    with pytest.raises(RefundRefused, match="reason"):
        refund(bought, 100, staff, reason="  ")


def test_a_refund_after_release_claws_the_cashback_back(bought, staff):
    rewards.cashback_release_due(now=timezone.now() + timedelta(days=2))
    assert balance(wallet_ensure(user=bought.buyer).available) == 10_000 - 4_900 + 245

    result = refund(bought, 4_900, staff)

    assert (result.cashback_clawed_back_paise, result.cashback_debt_paise) == (245, 0)
    assert books(bought) == {
        "available": 10_000,
        "pending": 0,
        "vendor": 0,
        "revenue": 0,
        "cashback": 0,
    }
    assert CashbackGrant.objects.get(purchase=bought).clawed_back_paise == 245
    assert_ledger_balanced()


def test_the_platform_fronts_what_a_vendor_has_already_withdrawn(bought, staff):
    vendor_account = vendor_payable_account(bought.vendor.user)

    @money_transaction
    def vendor_withdraws_everything():
        entry_post(
            kind=EntryKind.WITHDRAWAL,
            legs=[
                Leg(vendor_account, -4_410),
                Leg(platform_account(AccountKind.PLATFORM_PAYOUTS), 4_410),
            ],
            memo="Payout",
        )

    vendor_withdraws_everything()

    result = refund(bought, 4_900, staff)

    assert (result.vendor_reversed_paise, result.vendor_shortfall_paise) == (4_410, 4_410)
    assert balance(vendor_account) == 0
    assert balance(wallet_ensure(user=bought.buyer).available) == 10_000
    assert balance(platform_account(AccountKind.PLATFORM_ADJUSTMENTS)) == -10_000 - 4_410
    assert_ledger_balanced()


def test_a_partial_refund_of_a_usage_pass_takes_whole_units(funded_buyer, staff):
    plan = usage_plan(price_paise=9_900, units=100)
    purchase = services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="u")

    refund(purchase, 990, staff)  # a tenth

    the_pass = Pass.objects.get(purchase=purchase)
    assert (the_pass.units_left, the_pass.status) == (90, "active")


def test_partial_refunds_shorten_a_time_pass_by_their_share_of_the_original(bought, staff):
    the_pass = Pass.objects.get(purchase=bought)
    sold_for = the_pass.expires_at - the_pass.starts_at  # 24 h for ₹49

    refund(bought, 2_450, staff, key="r1")  # half
    refund(bought, 1_225, staff, key="r2")  # a quarter more: 75 % refunded

    the_pass.refresh_from_db()
    assert the_pass.expires_at - the_pass.starts_at == sold_for / 4


def test_partial_refunds_that_add_up_to_the_price_take_back_the_whole_cashback(funded_buyer, staff):
    plan = PlanFactory(price_paise=6_021)  # cashback ₹3.01: a third of it is no whole paisa
    purchase = services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="p")

    for key in ("r1", "r2", "r3"):
        refund(purchase, 2_007, staff, key=key)

    grant = CashbackGrant.objects.get(purchase=purchase)
    assert (grant.amount_paise, grant.cancelled_paise, grant.status) == (301, 301, "cancelled")
    assert balance(pending_account(funded_buyer)) == 0
    assert_ledger_balanced()


def test_a_usage_pass_refunded_in_parts_loses_each_unit_once(funded_buyer, staff):
    plan = usage_plan(price_paise=9_900, units=100)
    purchase = services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="u")

    for key in ("r1", "r2", "r3"):
        refund(purchase, 3_000, staff, key=key)  # 30.3 % each: 91 % in all

    the_pass = Pass.objects.get(purchase=purchase)
    assert the_pass.units_left == 100 - 91  # ceil(90.9), not 3 x ceil(30.3) = 93


def test_a_refund_key_already_used_for_another_purchase_is_refused(bought, funded_buyer, staff):
    other = services.pass_purchase(buyer=funded_buyer, plan=bought.plan, idempotency_key="b2")
    refund(bought, 1_000, staff, key="same")

    with pytest.raises(RefundRefused, match="another purchase"):
        refund(other, 1_000, staff, key="same")

    assert Purchase.objects.get(pk=other.pk).refunded_paise == 0


def test_a_refund_of_an_unknown_purchase_is_not_found(staff):
    from flexpass.errors import NotFound

    with pytest.raises(NotFound):
        purchase_refund(
            purchase_id=987654,
            amount_paise=100,
            reason="x",
            acting_user=staff,
            idempotency_key="nope",
        )
    assert Refund.objects.count() == 0


def test_staff_refund_through_the_admin_form(client, bought):
    admin_user = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    url = f"/admin/marketplace/purchase/{bought.pk}/refund/"

    form = client.get(url)
    posted = client.post(
        url, {"amount": "24.50", "reason": "Half the day was down", "idempotency_key": "admin-1"}
    )

    assert form.status_code == 200 and "Left to refund: <strong>₹49.00" in form.content.decode()
    assert posted.status_code == 302
    refund_row = Refund.objects.get()
    assert (refund_row.amount_paise, refund_row.acting_user) == (2_450, admin_user)
    assert_ledger_balanced()


def test_the_admin_refund_form_shows_domain_errors(client, bought):
    client.force_login(UserFactory(email="root@example.com", is_staff=True, is_superuser=True))
    url = f"/admin/marketplace/purchase/{bought.pk}/refund/"

    too_much = client.post(url, {"amount": "50", "reason": "x", "idempotency_key": "a"})
    not_money = client.post(url, {"amount": "1.234", "reason": "x", "idempotency_key": "b"})

    assert "At most ₹49.00" in too_much.content.decode()
    assert "two decimal places" in not_money.content.decode()
    assert Refund.objects.count() == 0


def test_staff_without_the_refund_permission_cannot_refund(client, bought):
    client.force_login(UserFactory(email="intern@example.com", is_staff=True))

    response = client.get(f"/admin/marketplace/purchase/{bought.pk}/refund/")

    assert response.status_code == 403


def test_the_admin_refund_form_refuses_an_overlong_key(client, bought):
    client.force_login(UserFactory(email="root@example.com", is_staff=True, is_superuser=True))
    url = f"/admin/marketplace/purchase/{bought.pk}/refund/"

    response = client.post(url, {"amount": "1", "reason": "x", "idempotency_key": "k" * 150})

    assert response.status_code == 200  # the form again, with its error
    assert Refund.objects.count() == 0
