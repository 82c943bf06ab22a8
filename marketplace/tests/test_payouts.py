"""Vendors move earnings from their payable to their own wallet (issue #5): the service,
its race against itself, and the staff admin screen."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone

from accounts.tests.factories import UserFactory
from flexpass.testing import race
from marketplace.console_selectors import earnings_held
from marketplace.errors import EarningsMoveRefused, InvalidIdempotencyKey
from marketplace.refunds import purchase_refund
from marketplace.services import pass_purchase
from marketplace.services.payouts import earnings_to_wallet
from marketplace.tests.factories import (
    PlanFactory,
    VendorFactory,
    assert_ledger_balanced,
    balance,
    fund,
)
from wallet.errors import IdempotencyConflict, InsufficientFunds, InvalidAmount
from wallet.integrity import ledger_check
from wallet.models import AccountKind, EntryKind, JournalEntry, LedgerAccount
from wallet.selectors import statement_lines, statement_postings
from wallet.services import (
    MAX_AMOUNT_PAISE,
    Leg,
    entry_post,
    platform_account,
    vendor_payable_account,
    wallet_ensure,
)


def earn(vendor, amount_paise: int) -> None:
    """Credit the vendor's payable as a sale would (against the adjustments account)."""
    with transaction.atomic():
        entry_post(
            kind=EntryKind.ADJUSTMENT,
            legs=[
                Leg(platform_account(AccountKind.PLATFORM_ADJUSTMENTS), -amount_paise),
                Leg(vendor_payable_account(vendor.user), amount_paise),
            ],
            memo="Test earnings",
        )


def balances(vendor) -> tuple[int, int]:
    """(payable, wallet available) of the vendor, from the database."""
    return (
        balance(vendor_payable_account(vendor.user)),
        balance(wallet_ensure(user=vendor.user).available),
    )


# --- the service ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_vendor_moves_part_of_the_earnings_to_the_wallet_once_per_key():
    # given a vendor owed ₹900 from a real ₹1,000 sale (10 % platform fee), its refund
    # window over
    vendor = VendorFactory()
    buyer = UserFactory()
    fund(buyer, 100_000)
    plan = PlanFactory(service__vendor=vendor, price_paise=100_000)
    pass_purchase(buyer=buyer, plan=plan, idempotency_key="b")
    later = timezone.now() + timedelta(hours=settings.EARNINGS_HOLD_HOURS, seconds=1)

    # when they move ₹500, twice with the same key
    first = earnings_to_wallet(
        vendor_user=vendor.user, amount_paise=50_000, idempotency_key="m1", now=later
    )
    again = earnings_to_wallet(
        vendor_user=vendor.user, amount_paise=50_000, idempotency_key="m1", now=later
    )

    # then ₹500 moved exactly once, in one entry the statement calls "Earnings moved to wallet"
    assert again.entry_id == first.entry_id
    assert (first.replayed, again.replayed) == (False, True)
    assert (first.amount_paise, first.payable_paise, first.available_paise) == (
        50_000,
        40_000,
        50_000,
    )
    assert balances(vendor) == (40_000, 50_000)
    entry = JournalEntry.objects.get(kind=EntryKind.EARNINGS)
    assert (entry.memo, entry.category, entry.acting_user_id) == (
        "Earnings moved to wallet",
        "earnings",
        vendor.user.pk,
    )
    assert sorted(entry.postings.values_list("amount_paise", flat=True)) == [-50_000, 50_000]
    [line] = statement_lines(statement_postings(wallet=wallet_ensure(user=vendor.user)))
    assert (line.description, line.kind_display, line.amount_paise) == (
        "Earnings moved to wallet",
        "Earnings",
        50_000,
    )
    assert_ledger_balanced()


@pytest.mark.django_db
def test_the_same_key_with_another_amount_is_refused_and_moves_nothing():
    vendor = VendorFactory()
    earn(vendor, 90_000)
    earnings_to_wallet(vendor_user=vendor.user, amount_paise=10_000, idempotency_key="m1")

    with pytest.raises(IdempotencyConflict):
        earnings_to_wallet(vendor_user=vendor.user, amount_paise=20_000, idempotency_key="m1")
    with pytest.raises(IdempotencyConflict):
        earnings_to_wallet(vendor_user=vendor.user, amount_paise=None, idempotency_key="m1")

    assert balances(vendor) == (80_000, 10_000)
    assert JournalEntry.objects.filter(kind=EntryKind.EARNINGS).count() == 1


@pytest.mark.django_db
def test_more_than_the_payable_balance_is_refused_and_the_ledger_is_unchanged():
    vendor = VendorFactory()
    earn(vendor, 90_000)
    entries = JournalEntry.objects.count()

    with pytest.raises(InsufficientFunds) as refused:
        earnings_to_wallet(vendor_user=vendor.user, amount_paise=90_001, idempotency_key="m1")

    assert str(refused.value) == (
        "You have ₹900.00 of earnings to move; you asked to move ₹900.01."
    )
    assert refused.value.extra["field"] == "amount_paise"
    assert balances(vendor) == (90_000, 0)
    assert JournalEntry.objects.count() == entries
    # the refused key is free: the same key with a fitting amount goes through
    move = earnings_to_wallet(vendor_user=vendor.user, amount_paise=90_000, idempotency_key="m1")
    assert move.payable_paise == 0
    assert_ledger_balanced()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "error"),
    [
        (0, InvalidAmount),
        (-100, InvalidAmount),
        (12.5, InvalidAmount),
        ("100", InvalidAmount),
        (True, InvalidAmount),
        (MAX_AMOUNT_PAISE + 1, InvalidAmount),
    ],
)
def test_bad_amounts_are_refused_and_move_nothing(amount, error):
    vendor = VendorFactory()
    earn(vendor, 90_000)

    with pytest.raises(error):
        earnings_to_wallet(vendor_user=vendor.user, amount_paise=amount, idempotency_key="m1")

    assert balances(vendor) == (90_000, 0)
    assert not JournalEntry.objects.filter(kind=EntryKind.EARNINGS).exists()


@pytest.mark.django_db
def test_an_idempotency_key_is_required():
    vendor = VendorFactory()
    earn(vendor, 90_000)

    for key in ("", "   ", "k" * 256):
        with pytest.raises(InvalidIdempotencyKey):
            earnings_to_wallet(vendor_user=vendor.user, amount_paise=100, idempotency_key=key)

    assert balances(vendor) == (90_000, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["all", "k" * 255], ids=["short key", "longest key"])
def test_all_of_it_replays_as_the_first_move_whatever_the_key_length(key):
    vendor = VendorFactory()
    earn(vendor, 12_345)

    first = earnings_to_wallet(vendor_user=vendor.user, amount_paise=None, idempotency_key=key)
    earn(vendor, 5_000)  # more earnings arrive before the retry
    again = earnings_to_wallet(vendor_user=vendor.user, amount_paise=None, idempotency_key=key)

    assert first.amount_paise == again.amount_paise == 12_345
    assert (again.entry_id, again.replayed) == (first.entry_id, True)
    assert balances(vendor) == (5_000, 12_345)


@pytest.mark.django_db
def test_all_of_nothing_is_refused():
    vendor = VendorFactory()

    with pytest.raises(InsufficientFunds, match="no earnings to move yet"):
        earnings_to_wallet(vendor_user=vendor.user, amount_paise=None, idempotency_key="all")

    assert balances(vendor) == (0, 0)


def _sale(vendor, price_paise: int = 100_000, key: str = "b"):
    buyer = UserFactory()
    fund(buyer, price_paise)
    plan = PlanFactory(service__vendor=vendor, price_paise=price_paise)
    return pass_purchase(buyer=buyer, plan=plan, idempotency_key=key)


@pytest.mark.django_db
def test_a_sale_inside_its_refund_window_is_held_and_moves_once_the_window_closes():
    # given ₹300 of older earnings and a ₹1,000 sale just now (₹900 to the vendor)
    vendor = VendorFactory()
    earn(vendor, 30_000)
    _sale(vendor)

    # then only the older ₹300 can move: all of it, or an amount, but not a paisa more
    with pytest.raises(InsufficientFunds) as refused:
        earnings_to_wallet(vendor_user=vendor.user, amount_paise=30_001, idempotency_key="m0")
    assert str(refused.value) == (
        "You have ₹300.00 of earnings to move now (₹900.00 from sales in the last "
        f"{settings.EARNINGS_HOLD_HOURS} hours stays until their refund window closes); "
        "you asked to move ₹300.01."
    )
    moved = earnings_to_wallet(vendor_user=vendor.user, amount_paise=None, idempotency_key="m1")
    assert moved.amount_paise == 30_000
    with pytest.raises(InsufficientFunds, match=r"You have ₹0.00 of earnings to move now"):
        earnings_to_wallet(vendor_user=vendor.user, amount_paise=None, idempotency_key="m2")
    assert balances(vendor) == (90_000, 30_000)

    # and once the window has closed, the sale's share moves too
    later = timezone.now() + timedelta(hours=settings.EARNINGS_HOLD_HOURS, seconds=1)
    rest = earnings_to_wallet(
        vendor_user=vendor.user, amount_paise=None, idempotency_key="m3", now=later
    )
    assert rest.amount_paise == 90_000
    assert balances(vendor) == (0, 120_000)
    assert_ledger_balanced()


@pytest.mark.django_db
def test_a_refund_inside_the_window_always_finds_the_vendors_share_in_the_payable():
    # given a vendor who moved everything they could right after a sale
    vendor = VendorFactory()
    earn(vendor, 10_000)
    bought = _sale(vendor)
    earnings_to_wallet(vendor_user=vendor.user, amount_paise=None, idempotency_key="m1")
    staff = UserFactory(is_staff=True)

    # when staff refund the sale in full inside its window
    refund = purchase_refund(
        purchase_id=bought.pk,
        amount_paise=100_000,
        reason="Service was down",
        acting_user=staff,
        idempotency_key="r1",
    )

    # then the vendor's ₹900 came back out of the payable: the platform fronted nothing
    assert (refund.vendor_reversed_paise, refund.vendor_shortfall_paise) == (90_000, 0)
    assert balances(vendor) == (0, 10_000)
    # and a refunded sale holds nothing back any more
    assert earnings_held(vendor=vendor).paise == 0
    assert_ledger_balanced()


@pytest.mark.django_db
def test_a_refund_of_an_old_sale_leaves_the_share_held_for_a_new_one():
    # given an old sale whose share the vendor moved, and a sale inside its window
    vendor = VendorFactory()
    old = _sale(vendor, key="old")
    later = timezone.now() + timedelta(hours=settings.EARNINGS_HOLD_HOURS, seconds=1)
    earnings_to_wallet(vendor_user=vendor.user, amount_paise=None, idempotency_key="m", now=later)
    new = _sale(vendor, key="new")
    staff = UserFactory(is_staff=True)

    # when staff refund the old sale (now), then the new one
    first = purchase_refund(
        purchase_id=old.pk, amount_paise=100_000, reason="Late complaint",
        acting_user=staff, idempotency_key="r-old",
    )  # fmt: skip
    second = purchase_refund(
        purchase_id=new.pk, amount_paise=100_000, reason="Down all day",
        acting_user=staff, idempotency_key="r-new",
    )  # fmt: skip

    # then the old sale's share was fronted by the platform, not taken from the new
    # sale's held share, and the new sale's refund found its share in the payable
    assert (first.vendor_reversed_paise, first.vendor_shortfall_paise) == (90_000, 90_000)
    assert (second.vendor_reversed_paise, second.vendor_shortfall_paise) == (90_000, 0)
    assert balances(vendor)[0] == 0
    assert_ledger_balanced()


@pytest.mark.django_db
def test_customers_and_non_staff_others_cannot_move_earnings():
    vendor = VendorFactory()
    earn(vendor, 90_000)

    with pytest.raises(EarningsMoveRefused, match="Only vendors"):
        earnings_to_wallet(vendor_user=UserFactory(), amount_paise=100, idempotency_key="m1")
    with pytest.raises(EarningsMoveRefused, match="Only the vendor or staff"):
        earnings_to_wallet(
            vendor_user=vendor.user,
            amount_paise=100,
            idempotency_key="m1",
            acting_user=UserFactory(),
            reason="because",
        )
    with pytest.raises(EarningsMoveRefused, match="Say why"):
        earnings_to_wallet(
            vendor_user=vendor.user,
            amount_paise=100,
            idempotency_key="m1",
            acting_user=UserFactory(is_staff=True),
        )

    assert balances(vendor) == (90_000, 0)


@pytest.mark.django_db
def test_moved_earnings_are_not_counted_as_negative_earnings_in_the_console():
    from marketplace import console_selectors

    vendor = VendorFactory()
    earn(vendor, 90_000)
    earnings_to_wallet(vendor_user=vendor.user, amount_paise=30_000, idempotency_key="m1")

    earnings = console_selectors.vendor_earnings(vendor=vendor)
    moves = console_selectors.vendor_earnings_moves(vendor=vendor)

    assert (earnings.payable_paise, earnings.total_paise) == (60_000, 90_000)
    assert [(m.amount_paise, m.by_staff) for m in moves] == [(30_000, False)]


@pytest.mark.django_db
def test_the_moved_money_can_then_be_withdrawn_to_the_bank():
    from billing.services import withdrawal_request

    vendor = VendorFactory()
    earn(vendor, 90_000)
    earnings_to_wallet(vendor_user=vendor.user, amount_paise=90_000, idempotency_key="m1")

    withdrawal = withdrawal_request(
        user=vendor.user,
        amount_paise=90_000,
        account_holder="Asha Rao",
        account_number="123456789012",
        ifsc="HDFC0001234",
        idempotency_key="w1",
    )

    assert withdrawal.amount_paise == 90_000
    assert balances(vendor) == (0, 0)
    assert balance(wallet_ensure(user=vendor.user).reserved) == 90_000


# --- races ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_ten_moves_at_once_never_take_more_than_the_payable_balance():
    # given ₹1,000 owed and ten requests for ₹300 each (₹3,000 in total)
    vendor = VendorFactory()
    earn(vendor, 100_000)
    wallet_ensure(user=vendor.user)

    # when they all run at once, each with its own key
    outcomes = race(
        10,
        lambda i: earnings_to_wallet(
            vendor_user=vendor.user, amount_paise=30_000, idempotency_key=f"m{i}"
        ),
    )

    # then three went through, seven were refused, and nothing went below zero
    moved = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, InsufficientFunds)]
    assert (len(moved), len(refused)) == (3, 7), outcomes
    assert sum(m.amount_paise for m in moved) == 90_000 <= 100_000
    assert balances(vendor) == (10_000, 90_000)
    assert not LedgerAccount.objects.filter(may_go_negative=False, balance_paise__lt=0).exists()
    assert ledger_check().ok


@pytest.mark.django_db(transaction=True)
def test_all_of_it_at_once_with_one_key_and_with_many_keys_moves_the_balance_once():
    vendor = VendorFactory()
    earn(vendor, 100_000)
    wallet_ensure(user=vendor.user)

    outcomes = race(
        10,
        lambda i: earnings_to_wallet(
            vendor_user=vendor.user, amount_paise=None, idempotency_key=f"all-{i % 2}"
        ),
    )

    moved = {o.entry_id for o in outcomes if not isinstance(o, Exception)}
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(moved) == 1
    assert all(isinstance(o, InsufficientFunds) for o in refused)
    assert balances(vendor) == (0, 100_000)
    assert ledger_check().ok


# --- the admin --------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(
        Permission.objects.get(codename="move_earnings", content_type__app_label="marketplace"),
        Permission.objects.get(codename="view_vendorprofile"),
        Permission.objects.get(codename="change_vendorprofile"),
    )
    client.force_login(staff)
    client.staff = staff
    return client


@pytest.mark.django_db
def test_staff_move_a_vendors_earnings_from_the_admin_with_a_reason(staff_client):
    vendor = VendorFactory()
    earn(vendor, 90_000)
    url = f"/admin/marketplace/vendorprofile/{vendor.pk}/move-earnings/"

    page = staff_client.get(url)
    assert page.status_code == 200
    assert 'data-testid="payable">₹900.00<' in page.content.decode()
    body = {"amount": "250", "reason": "Vendor asked by phone", "idempotency_key": "k1"}
    response = staff_client.post(url, body)
    again = staff_client.post(url, body)  # a double submit

    assert response.status_code == again.status_code == 302
    assert balances(vendor) == (65_000, 25_000)
    entry = JournalEntry.objects.get(kind=EntryKind.EARNINGS)
    assert entry.acting_user_id == staff_client.staff.pk
    assert entry.memo == "Earnings moved to wallet by FlexPass staff: Vendor asked by phone"
    assert entry.metadata["reason"] == "Vendor asked by phone"
    log = LogEntry.objects.get(object_id=str(vendor.pk))
    assert log.user_id == staff_client.staff.pk
    assert "Moved ₹250.00 of earnings" in log.get_change_message()


@pytest.mark.django_db
def test_staff_move_all_and_over_the_balance_is_shown_as_an_error(staff_client):
    vendor = VendorFactory()
    earn(vendor, 90_000)
    url = f"/admin/marketplace/vendorprofile/{vendor.pk}/move-earnings/"

    too_much = staff_client.post(
        url, {"amount": "901", "reason": "Payout run", "idempotency_key": "k1"}
    )
    assert too_much.status_code == 200
    assert "The vendor has ₹900.00 of earnings to move" in too_much.content.decode()
    assert balances(vendor) == (90_000, 0)

    staff_client.post(url, {"everything": "on", "reason": "Payout run", "idempotency_key": "k2"})
    assert balances(vendor) == (0, 90_000)


@pytest.mark.django_db
def test_the_admin_action_leads_to_the_form_and_needs_the_permission(client, staff_client):
    vendor = VendorFactory()
    response = staff_client.post(
        "/admin/marketplace/vendorprofile/",
        {"action": "move_earnings", "_selected_action": [vendor.pk]},
    )
    assert response.status_code == 302
    assert response.url == f"/admin/marketplace/vendorprofile/{vendor.pk}/move-earnings/"

    plain_staff = UserFactory(is_staff=True)
    plain_staff.user_permissions.add(Permission.objects.get(codename="view_vendorprofile"))
    client.force_login(plain_staff)
    url = f"/admin/marketplace/vendorprofile/{vendor.pk}/move-earnings/"
    earn(vendor, 1_000)
    denied = client.post(url, {"amount": "5", "reason": "nope", "idempotency_key": "k"})
    assert denied.status_code == 403
    assert balances(vendor) == (1_000, 0)
