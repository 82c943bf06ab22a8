"""Factories and helpers for billing tests: users, funded wallets, simulated payments."""

import itertools

import factory

from accounts.models import User
from billing.gateways import simulator
from billing.models import SimulatedOrder, SimulatedPayment, TopUp
from wallet.models import AccountKind, EntryKind
from wallet.services import Leg, entry_post, money_transaction, platform_account, wallet_ensure

_keys = itertools.count(1)
PASSWORD = "billing-test-password-1"


def new_key(prefix: str = "key") -> str:
    return f"{prefix}-{next(_keys)}"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"billing-user{n}@example.com")
    role = User.Role.CUSTOMER
    password = factory.django.Password(PASSWORD)


class StaffFactory(UserFactory):
    email = factory.Sequence(lambda n: f"billing-staff{n}@example.com")
    role = User.Role.STAFF
    is_staff = True
    is_superuser = True


@money_transaction
def fund(user, amount_paise: int) -> None:
    """Put money in a wallet the way a top-up would (from gateway clearing)."""
    wallet = wallet_ensure(user=user)
    entry_post(
        kind=EntryKind.TOPUP,
        legs=[
            Leg(platform_account(AccountKind.GATEWAY_CLEARING), -amount_paise),
            Leg(wallet.available, amount_paise),
        ],
        memo="test funds",
        idempotency_key=new_key("fund"),
    )


def available(user) -> int:
    wallet = wallet_ensure(user=user)
    wallet.available.refresh_from_db()
    return wallet.available.balance_paise


def reserved(user) -> int:
    wallet = wallet_ensure(user=user)
    wallet.reserved.refresh_from_db()
    return wallet.reserved.balance_paise


def account_balance(kind: str) -> int:
    account = platform_account(kind)
    account.refresh_from_db()
    return account.balance_paise


def pay(topup: TopUp, outcome: str = "succeed") -> dict[str, str]:
    """The payer finishes the simulated checkout; returns the fields for our return URL."""
    return simulator().complete_checkout(order_id=topup.gateway_order_id, outcome=outcome)


def signed_event(topup: TopUp, status: str = "captured") -> tuple[bytes, str]:
    """The simulator's webhook body for the top-up's latest payment with `status`, and its signature."""
    order = SimulatedOrder.objects.get(order_id=topup.gateway_order_id)
    payment = order.payments.filter(status=status).order_by("-id").first()
    assert payment is not None, f"no {status} payment for {order.order_id}"
    gateway = simulator()
    body = gateway.event_body(order, payment)
    return body, gateway.sign_webhook(body)


def forged_captured_event(topup: TopUp, payment_id: str = "pay_FORGED0000001") -> bytes:
    """A payment.captured body the gateway never produced (no payment behind it)."""
    order = SimulatedOrder.objects.get(order_id=topup.gateway_order_id)
    payment = SimulatedPayment(
        payment_id=payment_id,
        order=order,
        amount_paise=topup.amount_paise,
        status=SimulatedPayment.Status.CAPTURED,
    )
    return simulator().event_body(order, payment)
