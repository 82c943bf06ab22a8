"""Factories and small helpers for wallet tests.

Money only ever enters a wallet through `entry_post` (here: from the gateway
clearing account, as a real top-up would), so every test starts from a ledger
that adds up.
"""

import itertools
from datetime import datetime

import factory
from django.db import connection

from accounts.models import User
from wallet import services
from wallet.models import (
    AccountKind,
    EntryKind,
    JournalEntry,
    LedgerAccount,
    Posting,
    Reservation,
    Wallet,
)
from wallet.services import Leg, money_transaction

_keys = itertools.count(1)


def new_key(prefix: str = "test") -> str:
    return f"{prefix}-{next(_keys)}"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"wallet-user{n}@example.com")
    role = User.Role.CUSTOMER
    password = factory.django.Password("not-a-real-password-1")
    is_active = True


class StaffFactory(UserFactory):
    email = factory.Sequence(lambda n: f"staff{n}@example.com")
    role = User.Role.STAFF
    is_staff = True
    is_superuser = True


def wallet_for(user: User | None = None, *, threshold_paise: int | None = None) -> Wallet:
    """An opened wallet (for a new user unless one is given)."""
    wallet = services.wallet_ensure(user=user or UserFactory())
    if threshold_paise is not None:
        Wallet.objects.filter(pk=wallet.pk).update(low_balance_threshold_paise=threshold_paise)
        wallet.low_balance_threshold_paise = threshold_paise
    return wallet


@money_transaction
def fund(wallet: Wallet, amount_paise: int, *, key: str | None = None) -> JournalEntry:
    """Top `wallet` up from the gateway clearing account, through the posting function."""
    return services.entry_post(
        kind=EntryKind.TOPUP,
        legs=[
            Leg(services.platform_account(AccountKind.GATEWAY_CLEARING), -amount_paise),
            Leg(wallet.available, amount_paise),
        ],
        memo="Test top-up",
        category="topups",
        idempotency_key=key or new_key("fund"),
    )


def funded_wallet(amount_paise: int, *, user: User | None = None, **kwargs) -> Wallet:
    wallet = wallet_for(user, **kwargs)
    fund(wallet, amount_paise)
    wallet.available.refresh_from_db()
    return wallet


@money_transaction
def reserve(
    wallet: Wallet,
    amount_paise: int,
    *,
    key: str | None = None,
    expires_at: datetime | None = None,
    purpose: str = "order",
) -> Reservation:
    return services.reservation_create(
        wallet=wallet,
        amount_paise=amount_paise,
        purpose=purpose,
        idempotency_key=key or new_key("reserve"),
        expires_at=expires_at,
    )


@money_transaction
def settle(reservation: Reservation, payees: list[Leg]) -> Reservation:
    return services.reservation_settle(reservation=reservation, payees=payees)


@money_transaction
def void(reservation: Reservation) -> Reservation:
    return services.reservation_void(reservation=reservation)


def balance(account: LedgerAccount) -> int:
    """The cached balance as the database holds it now."""
    return LedgerAccount.objects.values_list("balance_paise", flat=True).get(pk=account.pk)


def balances(*accounts: LedgerAccount) -> list[int]:
    return [balance(account) for account in accounts]


def ledger_rows() -> tuple[int, int, int]:
    """(entries, postings, reservations): to assert that a refused call wrote nothing."""
    return (JournalEntry.objects.count(), Posting.objects.count(), Reservation.objects.count())


def tamper(sql: str, params=None) -> None:
    """Run `sql` with the ledger's append-only triggers switched off, as an attacker with
    database access would (then switch them back on)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run checks queued by earlier writes
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params or [])
        cursor.execute("SET LOCAL session_replication_role = origin")


def vendor_account_for(user: User) -> LedgerAccount:
    return services.vendor_payable_account(user)
