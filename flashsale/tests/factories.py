"""Factories for flash-sale tests: live sales, items with stock, funded buyers."""

from datetime import timedelta

import factory
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from flashsale import services
from flashsale.models import FlashSale, Product, SaleItem, SaleStatus
from wallet.models import AccountKind, EntryKind
from wallet.services import Leg, entry_post, platform_account, wallet_ensure


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"buyer{n}@example.com")
    role = User.Role.CUSTOMER
    password = factory.django.Password("flash-sale-pass-1")


def users_make(count: int) -> list[User]:
    """Many buyers at once (one INSERT): storms need hundreds of distinct accounts."""
    start = User.objects.count()
    User.objects.bulk_create(
        [User(email=f"storm{start + n}-{n}@example.com", password="!") for n in range(count)]
    )
    return list(User.objects.order_by("-pk")[:count])[::-1]


class FlashSaleFactory(factory.django.DjangoModelFactory):
    """A published sale that started five minutes ago and runs for an hour."""

    class Meta:
        model = FlashSale

    name = factory.Sequence(lambda n: f"Midnight Drop {n}")
    slug = factory.Sequence(lambda n: f"midnight-drop-{n}")
    description = "Limited stock, two-minute holds."
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=5))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
    status = SaleStatus.PUBLISHED


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Studio Preset Pack {n}")
    description = "Forty colour grades for video, lifetime licence."
    regular_price_paise = 99_900


def item_make(
    *,
    sale: FlashSale | None = None,
    product: Product | None = None,
    total: int = 100,
    price_paise: int = 49_900,
    per_user_limit: int = 2,
    position: int = 0,
) -> SaleItem:
    """An item with `total` units, created the way staff create one (with its restock event)."""
    with transaction.atomic():
        return services.item_create(
            sale=sale or FlashSaleFactory(),
            product=product or ProductFactory(),
            sale_price_paise=price_paise,
            total=total,
            per_user_limit=per_user_limit,
            position=position,
        )


def fund(user, amount_paise: int) -> None:
    """Put money in the user's wallet (from the platform adjustments account)."""
    with transaction.atomic():
        wallet = wallet_ensure(user=user)
        entry_post(
            kind=EntryKind.ADJUSTMENT,
            legs=[
                Leg(platform_account(AccountKind.PLATFORM_ADJUSTMENTS), -amount_paise),
                Leg(wallet.available, amount_paise),
            ],
            memo="test funds",
        )


def balance(user) -> int:
    return wallet_ensure(user=user).available.balance_paise
