from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace import services
from marketplace.errors import (
    InvalidIdempotencyKey,
    OwnServiceRefused,
    PlanNotFound,
    PlanNotPurchasable,
    PlanUnavailable,
    PriceChanged,
    ServiceUnavailable,
)
from marketplace.models import Pass, PassStatus, PlanKind, Purchase, Service, ServiceStatus
from marketplace.tests.factories import (
    PlanFactory,
    assert_ledger_balanced,
    balance,
    fund,
    metered_plan,
    usage_plan,
)
from wallet.errors import IdempotencyConflict, InsufficientFunds
from wallet.models import AccountKind, EntryKind, JournalEntry
from wallet.services import platform_account, vendor_payable_account, wallet_ensure

pytestmark = pytest.mark.django_db


def test_buying_a_time_pass_moves_the_money_in_one_entry_and_creates_the_pass(
    funded_buyer, plan, django_capture_on_commit_callbacks
):
    # given a buyer with ₹100 and a ₹49 day pass
    wallet = wallet_ensure(user=funded_buyer)
    before = timezone.now()

    # when they buy it
    with django_capture_on_commit_callbacks(execute=True):
        purchase = services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="k1")
        # (the popularity counter moves after the commit, outside the money transaction)
        assert Service.objects.get(pk=plan.service.pk).purchases_count == 0

    # then one purchase entry moved ₹49: ₹4.90 to the platform, ₹44.10 to the vendor,
    # and set ₹2.45 of cashback aside from the platform's cashback account
    assert (purchase.price_paise, purchase.fee_paise, purchase.vendor_share_paise) == (
        4_900,
        490,
        4_410,
    )
    assert purchase.entry.kind == EntryKind.PURCHASE
    assert purchase.entry.category == "AI tools"
    assert sorted(
        (posting.account.kind, posting.amount_paise)
        for posting in purchase.entry.postings.select_related("account")
    ) == [
        (AccountKind.PLATFORM_CASHBACK, -245),
        (AccountKind.PLATFORM_REVENUE, 490),
        (AccountKind.USER_AVAILABLE, -4_900),
        (AccountKind.USER_PENDING, 245),
        (AccountKind.VENDOR_PAYABLE, 4_410),
    ]
    assert balance(wallet.available) == 5_100
    assert balance(vendor_payable_account(plan.service.vendor.user)) == 4_410
    assert balance(platform_account(AccountKind.PLATFORM_REVENUE)) == 490
    # and a 24-hour pass with a token
    pass_obj = purchase.pass_obj
    assert (pass_obj.owner, pass_obj.kind, pass_obj.status) == (
        funded_buyer,
        PlanKind.TIME,
        PassStatus.ACTIVE,
    )
    assert pass_obj.expires_at - pass_obj.starts_at == timedelta(hours=24)
    assert before <= pass_obj.starts_at <= timezone.now()
    assert len(pass_obj.token) >= 32
    assert Service.objects.get(pk=plan.service.pk).purchases_count == 1
    assert_ledger_balanced()


def test_a_usage_pass_carries_its_units_and_validity(funded_buyer):
    plan = usage_plan(units=100, validity_days=30)

    purchase = services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="u1")

    pass_obj = purchase.pass_obj
    assert (pass_obj.kind, pass_obj.units_total, pass_obj.units_left) == (PlanKind.USAGE, 100, 100)
    assert pass_obj.expires_at - pass_obj.starts_at == timedelta(days=30)


def test_a_usage_pass_without_validity_never_expires(funded_buyer):
    purchase = services.pass_purchase(buyer=funded_buyer, plan=usage_plan(), idempotency_key="u2")

    assert purchase.pass_obj.expires_at is None


def test_the_same_key_buys_once(funded_buyer, plan):
    first = services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="same")

    again = services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="same")

    assert again.pk == first.pk
    assert Purchase.objects.count() == 1
    assert Pass.objects.count() == 1
    assert balance(wallet_ensure(user=funded_buyer).available) == 5_100


def test_the_same_key_for_another_plan_is_refused(funded_buyer, plan):
    services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="same")
    other = PlanFactory(service=plan.service, name="Week pass", price_paise=1_000)

    with pytest.raises(IdempotencyConflict):
        services.pass_purchase(buyer=funded_buyer, plan=other, idempotency_key="same")

    assert Purchase.objects.count() == 1
    assert balance(wallet_ensure(user=funded_buyer).available) == 5_100


def test_renewing_a_running_time_pass_starts_when_the_current_one_ends(funded_buyer, plan):
    first = services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="a")

    renewal = services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="b")

    assert renewal.pass_obj.starts_at == first.pass_obj.expires_at
    assert renewal.pass_obj.expires_at == first.pass_obj.expires_at + timedelta(hours=24)


def test_the_fee_rounds_half_up_to_whole_paise(funded_buyer, settings):
    # 10 % of ₹0.95 is 9.5 paise: the platform gets 10, the vendor 85
    plan = PlanFactory(price_paise=95)

    purchase = services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="r")

    assert (purchase.fee_paise, purchase.vendor_share_paise) == (10, 85)


def test_a_zero_fee_setting_pays_the_vendor_everything(funded_buyer, plan, settings):
    settings.MARKETPLACE_PLATFORM_FEE_PERCENT = "0"

    purchase = services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="z")

    assert (purchase.fee_paise, purchase.vendor_share_paise) == (0, 4_900)
    assert purchase.entry.postings.count() == 4  # no revenue leg: buyer, vendor, cashback x2
    assert_ledger_balanced()


def _assert_nothing_bought(buyer, available_paise: int) -> None:
    assert Purchase.objects.count() == 0
    assert Pass.objects.count() == 0
    assert not JournalEntry.objects.filter(kind=EntryKind.PURCHASE).exists()
    assert balance(wallet_ensure(user=buyer).available) == available_paise
    assert_ledger_balanced()


@pytest.mark.parametrize("status", [ServiceStatus.PAUSED, ServiceStatus.DRAFT])
def test_a_service_not_live_cannot_be_bought(funded_buyer, plan, status):
    Service.objects.filter(pk=plan.service.pk).update(status=status)

    with pytest.raises(ServiceUnavailable):
        services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="p")

    _assert_nothing_bought(funded_buyer, 10_000)


def test_a_switched_off_plan_cannot_be_bought(funded_buyer, plan):
    plan.is_active = False
    plan.save(update_fields=["is_active"])

    with pytest.raises(PlanUnavailable):
        services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="p")

    _assert_nothing_bought(funded_buyer, 10_000)


def test_a_metered_plan_is_not_bought_up_front(funded_buyer):
    with pytest.raises(PlanNotPurchasable):
        services.pass_purchase(buyer=funded_buyer, plan=metered_plan(), idempotency_key="m")

    _assert_nothing_bought(funded_buyer, 10_000)


def test_insufficient_funds_change_nothing(buyer, plan):
    fund(buyer, 4_899)

    with pytest.raises(InsufficientFunds):
        services.pass_purchase(buyer=buyer, plan=plan, idempotency_key="poor")

    _assert_nothing_bought(buyer, 4_899)
    assert Service.objects.get(pk=plan.service.pk).purchases_count == 0


def test_the_price_always_comes_from_the_database(funded_buyer, plan):
    # given a stale in-memory plan object claiming a lower price
    plan.price_paise = 1

    purchase = services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="t")

    assert purchase.price_paise == 4_900
    assert balance(wallet_ensure(user=funded_buyer).available) == 5_100


@pytest.mark.parametrize("shown", [-4_900, 0, 1, 4_899])
def test_a_different_expected_price_is_refused(funded_buyer, plan, shown):
    with pytest.raises(PriceChanged) as refused:
        services.pass_purchase(
            buyer=funded_buyer, plan=plan, idempotency_key="t", expected_price_paise=shown
        )

    assert refused.value.extra == {"price_paise": 4_900}
    _assert_nothing_bought(funded_buyer, 10_000)


def test_a_vendor_cannot_buy_their_own_service(plan):
    vendor_user = plan.service.vendor.user
    fund(vendor_user, 10_000)

    with pytest.raises(OwnServiceRefused):
        services.pass_purchase(buyer=vendor_user, plan=plan, idempotency_key="own")

    _assert_nothing_bought(vendor_user, 10_000)


def test_a_deleted_plan_is_not_found(funded_buyer, plan):
    plan.pk = 999_999

    with pytest.raises(PlanNotFound):
        services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="x")


@pytest.mark.parametrize("key", ["", "   ", "k" * 256])
def test_an_idempotency_key_is_required(funded_buyer, plan, key):
    with pytest.raises(InvalidIdempotencyKey):
        services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key=key)

    _assert_nothing_bought(funded_buyer, 10_000)


def test_rewards_hook_runs_once_per_purchase_inside_the_transaction(
    funded_buyer, plan, monkeypatch
):
    seen = []
    monkeypatch.setattr(
        "marketplace.rewards.rewards_on_purchase", lambda *, purchase: seen.append(purchase.pk)
    )

    purchase = services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="rw")
    services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="rw")

    assert seen == [purchase.pk]


def test_the_receipt_email_task_runs_after_commit(
    funded_buyer, plan, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(
        "marketplace.rewards.receipt_email_send", lambda *, purchase_id: sent.append(purchase_id)
    )

    with django_capture_on_commit_callbacks(execute=True):
        purchase = services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="mail")

    assert sent == [purchase.pk]


def test_a_failing_receipt_email_does_not_fail_the_purchase(
    funded_buyer, plan, monkeypatch, django_capture_on_commit_callbacks
):
    def boom(*, purchase_id):
        raise RuntimeError("smtp down")

    monkeypatch.setattr("marketplace.rewards.receipt_email_send", boom)
    monkeypatch.setattr("marketplace.tasks.receipt_email_send.max_retries", 0)

    with django_capture_on_commit_callbacks(execute=True):
        purchase = services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="m2")

    assert Purchase.objects.get().pk == purchase.pk
