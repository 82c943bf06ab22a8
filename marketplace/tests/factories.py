"""Factories for the marketplace, and helpers to fund wallets and check the ledger in tests."""

import factory
from django.db import transaction
from django.db.models import Sum

from accounts.models import User
from accounts.tests.factories import UserFactory
from marketplace.models import (
    Category,
    MeteredUnit,
    Plan,
    PlanKind,
    Service,
    ServiceStatus,
    VendorProfile,
)
from wallet.models import AccountKind, EntryKind, LedgerAccount, Posting
from wallet.services import Leg, entry_post, platform_account, wallet_ensure


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VendorProfile

    user = factory.SubFactory(UserFactory, role=User.Role.VENDOR)
    business_name = factory.Sequence(lambda n: f"Vendor {n}")
    slug = factory.Sequence(lambda n: f"vendor-{n}")


def category(slug: str = "ai-tools") -> Category:
    """One of the default categories (added by migration 0002), or a new one."""
    found, _ = Category.objects.get_or_create(
        slug=slug, defaults={"name": slug.replace("-", " ").title()}
    )
    return found


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    vendor = factory.SubFactory(VendorFactory)
    name = factory.Sequence(lambda n: f"Service {n}")
    slug = factory.Sequence(lambda n: f"service-{n}")
    category = factory.LazyFunction(category)
    tagline = "Does one thing well"
    status = ServiceStatus.LIVE


class PlanFactory(factory.django.DjangoModelFactory):
    """A 24-hour time pass for ₹49 unless told otherwise."""

    class Meta:
        model = Plan

    service = factory.SubFactory(ServiceFactory)
    kind = PlanKind.TIME
    name = "Day pass"
    price_paise = 4_900
    duration_hours = 24


def usage_plan(**kwargs) -> Plan:
    defaults = {"kind": PlanKind.USAGE, "name": "100 calls", "price_paise": 9_900, "units": 100}
    return PlanFactory(**{**defaults, **kwargs})


def metered_plan(**kwargs) -> Plan:
    defaults = {
        "kind": PlanKind.METERED,
        "name": "Pay per minute",
        "price_paise": 0,
        "metered_rate_paise": 200,
        "metered_unit": MeteredUnit.MINUTE,
    }
    return PlanFactory(**{**defaults, **kwargs})


def fund(user, amount_paise: int):
    """Put `amount_paise` into the user's available balance (a staff-style adjustment)."""
    with transaction.atomic():
        wallet = wallet_ensure(user=user)
        entry_post(
            kind=EntryKind.ADJUSTMENT,
            legs=[
                Leg(platform_account(AccountKind.PLATFORM_ADJUSTMENTS), -amount_paise),
                Leg(wallet.available, amount_paise),
            ],
            memo="Test funds",
        )
    return wallet


def balance(account: LedgerAccount) -> int:
    account.refresh_from_db(fields=["balance_paise"])
    return account.balance_paise


def assert_ledger_balanced() -> None:
    """Every entry sums to zero and every cached balance equals the sum of its postings."""
    assert (Posting.objects.aggregate(total=Sum("amount_paise"))["total"] or 0) == 0
    unbalanced = (
        Posting.objects.values("entry_id")
        .annotate(total=Sum("amount_paise"))
        .exclude(total=0)
        .count()
    )
    assert unbalanced == 0
    for account in LedgerAccount.objects.annotate(posted=Sum("postings__amount_paise")):
        assert account.balance_paise == (account.posted or 0), account.code
