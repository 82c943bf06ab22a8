"""Platform accounts' cached balances move at the end of the money transaction, exactly."""

import pytest
from django.db import transaction

from flexpass import realtime
from wallet import services
from wallet.integrity import ledger_check
from wallet.models import AccountKind, LedgerAccount
from wallet.services import Leg, entry_post, money_transaction
from wallet.tests.factories import balance, funded_wallet, new_key, wallet_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_platform_account_is_updated_once_at_commit_with_the_sum_of_the_entries():
    # Given: a buyer and the platform revenue account (may go negative: deferred)
    buyer = funded_wallet(10_000)
    revenue = services.platform_account(AccountKind.PLATFORM_REVENUE)
    seen_inside = []

    @money_transaction
    def two_sales():
        for amount in (1_000, 2_500):
            entry_post(
                kind="purchase",
                legs=[Leg(buyer.available, -amount), Leg(revenue, amount)],
                idempotency_key=new_key("sale"),
            )
        seen_inside.append(LedgerAccount.objects.get(pk=revenue.pk).balance_paise)

    # When
    two_sales()

    # Then: not touched while the transaction ran, exact once it committed
    assert seen_inside == [0]
    assert balance(revenue) == 3_500
    assert balance(buyer.available) == 6_500


def test_an_entry_rolled_back_to_a_savepoint_is_not_counted():
    buyer = funded_wallet(10_000)
    revenue = services.platform_account(AccountKind.PLATFORM_REVENUE)

    @money_transaction
    def one_kept_one_undone():
        entry_post(
            kind="purchase",
            legs=[Leg(buyer.available, -1_000), Leg(revenue, 1_000)],
            idempotency_key=new_key("kept"),
        )
        try:
            with transaction.atomic():
                entry_post(
                    kind="purchase",
                    legs=[Leg(buyer.available, -2_000), Leg(revenue, 2_000)],
                    idempotency_key=new_key("undone"),
                )
                raise RuntimeError("the rest of this step failed")
        except RuntimeError:
            pass

    one_kept_one_undone()

    assert balance(revenue) == 1_000
    assert balance(buyer.available) == 9_000


def test_outside_money_transaction_every_account_moves_at_once():
    buyer = funded_wallet(10_000)
    clearing = services.platform_account(AccountKind.GATEWAY_CLEARING)
    with transaction.atomic():
        entry_post(
            kind="topup",
            legs=[Leg(clearing, -500), Leg(buyer.available, 500)],
            idempotency_key=new_key("plain"),
        )
        assert LedgerAccount.objects.get(pk=clearing.pk).balance_paise == clearing.balance_paise
    assert balance(buyer.available) == 10_500


def test_a_transactions_broadcasts_go_out_together_after_commit(monkeypatch):
    sent = []
    monkeypatch.setattr(realtime, "_send_all", lambda messages: sent.append(list(messages)))
    alice, bob = funded_wallet(100_000), wallet_for()
    sent.clear()

    services.wallet_transfer(
        sender=alice.user, recipient=bob.user, amount_paise=100, idempotency_key="b1"
    )

    assert len(sent) == 1  # one hop to the channel layer for both people
    assert sorted(group for group, _ in sent[0]) == sorted(
        [realtime.user_group(alice.user_id), realtime.user_group(bob.user_id)]
    )


def test_broadcasts_from_a_rolled_back_savepoint_are_dropped(monkeypatch):
    sent = []
    monkeypatch.setattr(realtime, "_send_all", lambda messages: sent.append(list(messages)))
    with transaction.atomic():
        realtime.broadcast_on_commit("kept", {"type": "x.kept"})
        try:
            with transaction.atomic():
                realtime.broadcast_on_commit("undone", {"type": "x.undone"})
                raise RuntimeError
        except RuntimeError:
            pass
    assert [group for batch in sent for group, _ in batch] == ["kept"]


def test_accounts_open_finds_existing_accounts_and_opens_missing_ones():
    buyer = funded_wallet(1_000)
    found = services.accounts_open(
        {
            "available": (buyer.user, AccountKind.USER_AVAILABLE),
            "pending": (buyer.user, AccountKind.USER_PENDING),  # not opened yet
            "revenue": (None, AccountKind.PLATFORM_REVENUE),
        }
    )
    assert found["available"].pk == buyer.available_id
    assert found["pending"] == services.pending_account(buyer.user)
    assert found["revenue"] == services.platform_account(AccountKind.PLATFORM_REVENUE)
    assert found["pending"].code == f"user:{buyer.user_id}:pending"


def test_a_deferred_credit_pays_for_a_debit_later_in_the_same_transaction():
    # Given: a vendor payable with nothing in it
    buyer = funded_wallet(10_000)
    vendor = wallet_for()
    payable = services.vendor_payable_account(vendor.user)

    @money_transaction
    def sell_then_pay_out():
        # a sale credits the payable (deferred: a credit needs no check) ...
        entry_post(
            kind="purchase",
            legs=[Leg(buyer.available, -4_000), Leg(payable, 4_000)],
            idempotency_key=new_key("sale"),
        )
        # ... and a debit of the payable in the same transaction must see it
        entry_post(
            kind="earnings",
            legs=[Leg(payable, -4_000), Leg(vendor.available, 4_000)],
            idempotency_key=new_key("move"),
        )
        # a later credit is moved at once now that the row is locked
        entry_post(
            kind="purchase",
            legs=[Leg(buyer.available, -1_000), Leg(payable, 1_000)],
            idempotency_key=new_key("sale2"),
        )

    sell_then_pay_out()

    assert balance(payable) == 1_000
    assert balance(vendor.available) == 4_000
    assert balance(buyer.available) == 5_000
    assert ledger_check().ok
