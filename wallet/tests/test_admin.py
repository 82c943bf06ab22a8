"""The operator dashboard: ledger tables read-only, money moves only through actions that call services."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from wallet.integrity import ledger_seal
from wallet.models import (
    AccountKind,
    EntryKind,
    JournalEntry,
    LedgerCheckRun,
    Reservation,
    ReservationStatus,
)
from wallet.services import Leg, platform_account
from wallet.tests.factories import (
    UserFactory,
    balances,
    funded_wallet,
    ledger_rows,
    reserve,
    settle,
)

pytestmark = pytest.mark.django_db

LEDGER_MODELS = [
    "ledgeraccount",
    "wallet",
    "journalentry",
    "posting",
    "reservation",
    "lowbalancealert",
    "ledgerseal",
    "ledgercheckrun",
]


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def a_busy_ledger(wallets: int, vendor_payable):
    for _ in range(wallets):
        wallet = funded_wallet(20_000, threshold_paise=15_000)
        settle(reserve(wallet, 6_000), [Leg(vendor_payable, 1_000)])
        reserve(wallet, 1_000)
    ledger_seal()


def test_every_ledger_changelist_loads_in_a_fixed_number_of_queries(
    staff_client, vendor_payable, django_assert_max_num_queries
):
    # given a few wallets with history
    a_busy_ledger(2, vendor_payable)
    counts = {}
    for model in LEDGER_MODELS:
        with django_assert_max_num_queries(12) as captured:
            response = staff_client.get(reverse(f"admin:wallet_{model}_changelist"))
        assert response.status_code == 200, model
        counts[model] = len(captured)
    # when the ledger grows
    a_busy_ledger(4, vendor_payable)
    # then no list page makes more queries (no N+1)
    for model in LEDGER_MODELS:
        with django_assert_max_num_queries(counts[model]):
            response = staff_client.get(reverse(f"admin:wallet_{model}_changelist"))
        assert response.status_code == 200, model


def test_ledger_rows_cannot_be_added_or_edited_or_deleted_by_hand(staff_client, vendor_payable):
    a_busy_ledger(1, vendor_payable)
    entry = JournalEntry.objects.first()

    assert staff_client.get(reverse("admin:wallet_journalentry_add")).status_code == 403
    assert (
        staff_client.get(reverse("admin:wallet_journalentry_delete", args=[entry.pk])).status_code
        == 403
    )
    change = staff_client.post(
        reverse("admin:wallet_journalentry_change", args=[entry.pk]), {"memo": "x"}
    )
    assert change.status_code == 403
    entry.refresh_from_db()
    assert entry.memo == "Test top-up"


def test_entry_page_shows_its_postings(staff_client, vendor_payable):
    a_busy_ledger(1, vendor_payable)
    settle_entry = JournalEntry.objects.get(kind=EntryKind.SETTLE)

    response = staff_client.get(reverse("admin:wallet_journalentry_change", args=[settle_entry.pk]))

    assert response.status_code == 200
    body = response.content.decode()
    for posting in settle_entry.postings.select_related("account"):
        assert posting.account.code in body
    assert "-₹60.00" in body and "₹10.00" in body and "₹50.00" in body


def test_wallet_pages_link_to_the_adjust_form(staff_client):
    wallet = funded_wallet(100)

    change = staff_client.get(reverse("admin:wallet_wallet_change", args=[wallet.pk]))
    changelist = staff_client.get(reverse("admin:wallet_wallet_changelist"))

    assert reverse("admin:wallet_wallet_adjust", args=[wallet.pk]) in change.content.decode()
    assert reverse("admin:wallet_wallet_adjust_any") in changelist.content.decode()


def test_adjust_action_leads_to_the_form_for_that_wallet(staff_client):
    wallet = funded_wallet(12_345)

    response = staff_client.post(
        reverse("admin:wallet_wallet_changelist"),
        {"action": "adjust_balance", "_selected_action": [wallet.pk]},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:wallet_wallet_adjust", args=[wallet.pk])
    page = staff_client.get(response["Location"])
    assert page.status_code == 200
    assert "₹123.45" in page.content.decode()
    assert page.context["form"].initial["user"] == wallet.user.email


def adjust_form(wallet, **overrides):
    return {
        "user": wallet.user.email,
        "direction": "credit",
        "amount": "250.50",
        "reason": "Goodwill for the outage",
        "idempotency_key": "form-key-1",
        **overrides,
    }


def test_staff_credit_a_wallet_through_the_form(staff_client, staff):
    wallet = funded_wallet(1_000)
    adjustments = platform_account(AccountKind.PLATFORM_ADJUSTMENTS)

    response = staff_client.post(
        reverse("admin:wallet_wallet_adjust", args=[wallet.pk]), adjust_form(wallet)
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:wallet_wallet_change", args=[wallet.pk])
    assert balances(wallet.available, adjustments) == [26_050, -25_050]
    entry = JournalEntry.objects.get(kind=EntryKind.ADJUSTMENT)
    assert (entry.acting_user, entry.metadata["reason"]) == (staff, "Goodwill for the outage")


def test_a_double_submitted_form_adjusts_once(staff_client):
    wallet = funded_wallet(1_000)
    url = reverse("admin:wallet_wallet_adjust", args=[wallet.pk])

    staff_client.post(url, adjust_form(wallet))
    staff_client.post(url, adjust_form(wallet))

    assert JournalEntry.objects.filter(kind=EntryKind.ADJUSTMENT).count() == 1
    assert balances(wallet.available) == [26_050]


def test_staff_debit_by_handle_from_the_general_form(staff_client):
    wallet = funded_wallet(10_000)

    response = staff_client.post(
        reverse("admin:wallet_wallet_adjust_any"),
        adjust_form(wallet, user=f"@{wallet.handle}", direction="debit", amount="40"),
    )

    assert response.status_code == 302
    assert balances(wallet.available) == [6_000]


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"reason": ""}, "This field is required."),
        ({"amount": "0"}, "Enter an amount above zero"),
        ({"amount": "1.234"}, "Amounts have at most two decimal places"),
        ({"user": "nobody@example.com"}, "No user has that email address or handle."),
        ({"direction": "debit", "amount": "10.01"}, "Your wallet balance is too low"),
    ],
)
def test_refused_adjustments_show_the_form_again_and_change_nothing(staff_client, overrides, error):
    wallet = funded_wallet(1_000)
    before = ledger_rows()

    response = staff_client.post(
        reverse("admin:wallet_wallet_adjust", args=[wallet.pk]), adjust_form(wallet, **overrides)
    )

    assert response.status_code == 200
    assert error in response.content.decode()
    assert ledger_rows() == before
    assert balances(wallet.available) == [1_000]


def test_staff_without_the_permission_cannot_adjust(client):
    clerk = UserFactory(is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_wallet"))
    client.force_login(clerk)
    wallet = funded_wallet(1_000)

    page = client.get(reverse("admin:wallet_wallet_adjust", args=[wallet.pk]))
    post = client.post(reverse("admin:wallet_wallet_adjust", args=[wallet.pk]), adjust_form(wallet))
    changelist = client.get(reverse("admin:wallet_wallet_changelist"))

    assert (page.status_code, post.status_code) == (403, 403)
    assert "adjust_balance" not in changelist.content.decode()
    assert reverse("admin:wallet_wallet_adjust_any") not in changelist.content.decode()
    assert balances(wallet.available) == [1_000]


def test_void_action_releases_pending_reservations_and_skips_closed_ones(
    staff_client, staff, vendor_payable
):
    wallet = funded_wallet(10_000)
    pending = reserve(wallet, 3_000, purpose="manual hold")
    settled = settle(reserve(wallet, 2_000), [Leg(vendor_payable, 2_000)])
    withdrawal = reserve(wallet, 1_000, purpose="withdrawal")

    response = staff_client.post(
        reverse("admin:wallet_reservation_changelist"),
        {
            "action": "void_reservations",
            "_selected_action": [pending.pk, settled.pk, withdrawal.pk],
        },
        follow=True,
    )

    html = response.content.decode()
    assert "Released 1 reservation(s); 1 were already settled or released." in html
    assert "reject the withdrawal instead" in html
    assert Reservation.objects.get(pk=withdrawal.pk).status == ReservationStatus.PENDING
    pending.refresh_from_db()
    assert pending.status == ReservationStatus.VOIDED
    assert pending.resolve_entry.acting_user == staff
    assert Reservation.objects.get(pk=settled.pk).status == ReservationStatus.SETTLED
    assert balances(wallet.available, wallet.reserved, vendor_payable) == [7_000, 1_000, 2_000]


def test_run_the_ledger_check_from_the_admin(staff_client, vendor_payable):
    a_busy_ledger(1, vendor_payable)

    response = staff_client.post(reverse("admin:wallet_ledgercheckrun_run"), follow=True)

    run = LedgerCheckRun.objects.get()
    assert (run.ok, run.triggered_by) == (True, "admin")
    body = response.content.decode()
    assert "Ledger check passed." in body
    assert "Ledger check OK" in body
    assert staff_client.get(reverse("admin:wallet_ledgercheckrun_run")).status_code == 405
