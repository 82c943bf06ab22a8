"""Property test: any sequence of top-ups, transfers, reservations, settles and voids keeps
the ledger provably right and equal to a plain Python model of the same money."""

from dataclasses import dataclass

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from wallet.errors import InsufficientFunds, ReservationClosed, TransferRefused
from wallet.integrity import ledger_check, ledger_seal
from wallet.models import AccountKind, LedgerAccount, Reservation
from wallet.services import Leg, platform_account, wallet_transfer
from wallet.tests.factories import (
    UserFactory,
    fund,
    new_key,
    reserve,
    settle,
    vendor_account_for,
    void,
)

USERS = 4
amounts = st.integers(min_value=1, max_value=20_000)
who = st.integers(min_value=0, max_value=USERS - 1)


@dataclass
class Held:
    """The model's view of one reservation."""

    pk: int
    user: int
    amount: int
    open: bool = True


class LedgerMachine(RuleBasedStateMachine):
    """Each example runs inside a savepoint that is rolled back afterwards.

    The savepoint is marked like the test case's own block so the services'
    durable transactions may nest in it (as they do inside a pytest-django test).
    """

    def __init__(self):
        super().__init__()
        self._example = transaction.atomic()
        self._example._from_testcase = True
        self._example.__enter__()

    @initialize()
    def open_wallets(self):
        from wallet.services import wallet_ensure

        self.wallets = [wallet_ensure(user=UserFactory()) for _ in range(USERS)]
        self.vendor = vendor_account_for(UserFactory(role="vendor"))
        self.clearing = platform_account(AccountKind.GATEWAY_CLEARING)
        # The model: plain integers.
        self.available = [0] * USERS
        self.reserved = [0] * USERS
        self.vendor_paise = 0
        self.clearing_paise = 0
        self.held: list[Held] = []

    def teardown(self):
        transaction.set_rollback(True)
        self._example.__exit__(None, None, None)

    # --- rules ---------------------------------------------------------------------------

    @rule(user=who, amount=amounts)
    def top_up(self, user, amount):
        fund(self.wallets[user], amount)
        self.available[user] += amount
        self.clearing_paise -= amount

    @rule(sender=who, recipient=who, amount=amounts)
    def transfer(self, sender, recipient, amount):
        call = lambda: wallet_transfer(  # noqa: E731
            sender=self.wallets[sender].user,
            recipient=self.wallets[recipient].user,
            amount_paise=amount,
            idempotency_key=new_key("prop"),
        )
        if sender == recipient:
            with pytest.raises(TransferRefused):
                call()
        elif amount > self.available[sender]:
            with pytest.raises(InsufficientFunds):
                call()
        else:
            call()
            self.available[sender] -= amount
            self.available[recipient] += amount

    @rule(user=who, amount=amounts)
    def reserve(self, user, amount):
        if amount > self.available[user]:
            with pytest.raises(InsufficientFunds):
                reserve(self.wallets[user], amount)
            return
        reservation = reserve(self.wallets[user], amount)
        self.held.append(Held(reservation.pk, user, amount))
        self.available[user] -= amount
        self.reserved[user] += amount

    @precondition(lambda self: self.held)
    @rule(pick=st.integers(min_value=0), share=st.floats(min_value=0.01, max_value=1.0))
    def settle(self, pick, share):
        held = self.held[pick % len(self.held)]
        pay = max(1, int(held.amount * share))
        reservation = Reservation.objects.get(pk=held.pk)
        if not held.open:
            with pytest.raises(ReservationClosed):
                settle(reservation, [Leg(self.vendor, pay)])
            return
        settle(reservation, [Leg(self.vendor, pay)])
        held.open = False
        self.reserved[held.user] -= held.amount
        self.available[held.user] += held.amount - pay
        self.vendor_paise += pay

    @precondition(lambda self: self.held)
    @rule(pick=st.integers(min_value=0))
    def void(self, pick):
        held = self.held[pick % len(self.held)]
        reservation = Reservation.objects.get(pk=held.pk)
        if not held.open:
            with pytest.raises(ReservationClosed):
                void(reservation)
            return
        void(reservation)
        held.open = False
        self.reserved[held.user] -= held.amount
        self.available[held.user] += held.amount

    @rule()
    def seal(self):
        ledger_seal()

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def ledger_check_passes(self):
        result = ledger_check()
        assert result.ok, result.report()

    @invariant()
    def all_cached_balances_sum_to_zero(self):
        assert LedgerAccount.objects.aggregate(total=Sum("balance_paise"))["total"] in (0, None)

    @invariant()
    def no_no_negative_account_is_negative(self):
        assert not LedgerAccount.objects.filter(may_go_negative=False, balance_paise__lt=0).exists()

    @invariant()
    def balances_equal_the_model(self):
        accounts = [*(w.available for w in self.wallets), *(w.reserved for w in self.wallets)]
        accounts += [self.vendor, self.clearing]
        held = dict(
            LedgerAccount.objects.filter(pk__in=[a.pk for a in accounts]).values_list(
                "pk", "balance_paise"
            )
        )
        assert [held[a.pk] for a in accounts] == [
            *self.available,
            *self.reserved,
            self.vendor_paise,
            self.clearing_paise,
        ]


@pytest.mark.django_db
def test_any_sequence_of_money_movements_keeps_the_ledger_right():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            database=None,
        ),
    )
