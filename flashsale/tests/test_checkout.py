"""Checkout: one journal entry, one order, exactly once; refusals change nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from flashsale import services
from flashsale.errors import HoldClosed, HoldExpired, HoldNotFound, SaleNotLive
from flashsale.models import (
    EventKind,
    FlashOrder,
    FlashPayment,
    FlashSale,
    Hold,
    HoldStatus,
    InventoryEvent,
    SaleItem,
    SaleStatus,
)
from flashsale.tests.factories import ProductFactory, UserFactory, balance, fund, item_make
from wallet.errors import InsufficientFunds
from wallet.models import AccountKind, EntryKind, JournalEntry
from wallet.services import platform_account, vendor_payable_account

pytestmark = pytest.mark.django_db


def revenue() -> int:
    return platform_account(AccountKind.PLATFORM_REVENUE).balance_paise


def test_checkout_pays_the_platform_and_confirms_the_hold(buyer):
    # given a platform product at ₹499 and a buyer with ₹5,000 holding 2
    item = item_make(total=10, price_paise=49_900)
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=2)
    revenue_before = revenue()

    # when the buyer checks out
    order, created = services.hold_checkout(user=buyer, hold_id=hold.pk)

    # then ₹998 moved in one purchase entry, and the hold is confirmed with its order
    assert created is True
    assert (order.quantity, order.unit_price_paise, order.amount_paise) == (2, 49_900, 99_800)
    assert balance(buyer) == 500_000 - 99_800
    assert revenue() - revenue_before == 99_800
    entry = order.entry
    assert (entry.kind, entry.category) == (EntryKind.PURCHASE, "flash sale")
    assert sorted(entry.postings.values_list("amount_paise", flat=True)) == [-99_800, 99_800]
    hold.refresh_from_db()
    assert hold.status == HoldStatus.CONFIRMED
    confirmed = InventoryEvent.objects.get(kind=EventKind.SALE_CONFIRMED)
    assert (confirmed.delta, confirmed.hold_id) == (0, hold.pk)
    assert SaleItem.objects.get(pk=item.pk).available == 8


def test_a_vendors_item_pays_the_vendor_less_the_platform_fee(buyer, settings):
    settings.FLASH_PLATFORM_FEE_PERCENT = "10"
    vendor = UserFactory()
    item = item_make(total=5, price_paise=49_999, product=ProductFactory(vendor=vendor))
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    revenue_before = revenue()

    order, _ = services.hold_checkout(user=buyer, hold_id=hold.pk)

    assert order.fee_paise == 5_000  # 10 % of 49,999 paise, rounded half-up
    assert vendor_payable_account(vendor).balance_paise == 44_999
    assert revenue() - revenue_before == 5_000
    assert balance(buyer) == 500_000 - 49_999


def test_checking_out_twice_returns_the_first_order_and_charges_once(buyer, item):
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    first, _ = services.hold_checkout(user=buyer, hold_id=hold.pk)

    again, created = services.hold_checkout(user=buyer, hold_id=hold.pk)

    assert (again.pk, created) == (first.pk, False)
    assert balance(buyer) == 500_000 - 49_900
    assert FlashOrder.objects.count() == 1


def test_without_enough_money_nothing_changes_and_the_hold_keeps_running(item):
    poor = UserFactory()
    fund(poor, 10_000)
    hold, _ = services.hold_create(user=poor, item_id=item.pk, quantity=1)
    entries = JournalEntry.objects.count()

    with pytest.raises(InsufficientFunds):
        services.hold_checkout(user=poor, hold_id=hold.pk)

    hold.refresh_from_db()
    assert hold.status == HoldStatus.ACTIVE
    assert balance(poor) == 10_000
    assert (JournalEntry.objects.count(), FlashOrder.objects.count()) == (entries, 0)
    assert SaleItem.objects.get(pk=item.pk).available == 9


def test_an_expired_hold_cannot_be_paid_and_its_units_come_back(buyer, item):
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=2)
    Hold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(HoldExpired):
        services.hold_checkout(user=buyer, hold_id=hold.pk)

    hold.refresh_from_db()
    assert hold.status == HoldStatus.EXPIRED
    assert balance(buyer) == 500_000
    assert FlashOrder.objects.count() == 0
    assert SaleItem.objects.get(pk=item.pk).available == 10


def test_a_released_hold_cannot_be_paid(buyer, item):
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    services.hold_release(user=buyer, hold_id=hold.pk)

    with pytest.raises(HoldClosed):
        services.hold_checkout(user=buyer, hold_id=hold.pk)

    assert (balance(buyer), FlashOrder.objects.count()) == (500_000, 0)


@pytest.mark.parametrize("status", [SaleStatus.CANCELLED, SaleStatus.DRAFT])
def test_a_hold_on_a_sale_taken_off_cannot_be_paid_before_its_void_runs(buyer, item, status):
    # given a hold, then staff take the sale off (its void has not run yet)
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    FlashSale.objects.filter(pk=item.sale_id).update(status=status)

    # then neither the wallet nor a card pays for it, and nothing moves
    with pytest.raises(SaleNotLive):
        services.hold_checkout(user=buyer, hold_id=hold.pk)
    with pytest.raises(SaleNotLive):
        services.hold_pay_mixed(user=buyer, hold_id=hold.pk, idempotency_key="card")

    assert (balance(buyer), FlashOrder.objects.count(), FlashPayment.objects.count()) == (
        500_000,
        0,
        0,
    )


def test_a_hold_that_ran_out_on_a_sale_taken_off_is_answered_as_expired(buyer, item):
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    FlashSale.objects.filter(pk=item.sale_id).update(status=SaleStatus.CANCELLED)
    Hold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(HoldExpired):
        services.hold_checkout(user=buyer, hold_id=hold.pk)

    assert SaleItem.objects.get(pk=item.pk).available == 10  # its units came back at once


def test_nobody_pays_for_someone_elses_hold(buyer, item):
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    stranger = UserFactory()
    fund(stranger, 100_000)

    with pytest.raises(HoldNotFound):
        services.hold_checkout(user=stranger, hold_id=hold.pk)
    with pytest.raises(HoldNotFound):
        services.hold_checkout(user=buyer, hold_id=999_999)

    assert (balance(stranger), FlashOrder.objects.count()) == (100_000, 0)
    assert Hold.objects.get(pk=hold.pk).status == HoldStatus.ACTIVE


def test_a_marketplace_plan_sells_a_real_pass_at_the_flash_price(buyer):
    from django.db import transaction

    from flashsale.tests.factories import FlashSaleFactory
    from marketplace.models import Pass, Purchase
    from marketplace.tests.factories import PlanFactory

    # given a ₹49 day pass on sale for ₹19, one per customer
    plan = PlanFactory(price_paise=4_900)
    with transaction.atomic():
        item = services.item_create(
            sale=FlashSaleFactory(), plan=plan, sale_price_paise=1_900, total=5, per_user_limit=1
        )
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)

    # when the buyer checks out
    order, _ = services.hold_checkout(user=buyer, hold_id=hold.pk)

    # then the marketplace recorded a purchase at ₹19 with its pass, paid by the same entry
    purchase = Purchase.objects.get(buyer=buyer)
    assert (purchase.price_paise, purchase.plan_id) == (1_900, plan.pk)
    assert order.purchase_id == purchase.pk and order.entry_id == purchase.entry_id
    assert Pass.objects.get(purchase=purchase).owner_id == buyer.pk
    assert balance(buyer) == 500_000 - 1_900
    plan.refresh_from_db()
    assert plan.price_paise == 4_900  # the plan's own price is untouched
    # ... and it earns cashback on what was paid, pending like any purchase's
    assert purchase.cashback.amount_paise == 95


def test_a_hold_pays_the_price_it_was_taken_at_after_staff_change_it(item, hold_write_path):
    # given a buyer holding one unit at the sale price, then staff raising the price
    buyer = UserFactory()
    fund(buyer, 500_000)
    held_at = item.sale_price_paise
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    services.item_terms_change(item=item, sale_price_paise=held_at + 10_000)

    # when they check out, and someone else holds after the change
    order, _ = services.hold_checkout(user=buyer, hold_id=hold.pk)
    later, _ = services.hold_create(user=UserFactory(), item_id=item.pk, quantity=1)

    # then the first pays the price they held at; the change reaches new holds only
    assert (order.unit_price_paise, order.amount_paise) == (held_at, held_at)
    assert balance(buyer) == 500_000 - held_at
    assert later.amount_paise == held_at + 10_000
