"""Demo flash sales for `make run`: one live sale with a few items, one starting tomorrow.

Idempotent: running it again changes nothing, except that a demo sale whose
time has passed is moved to now (so `make run` tomorrow still shows a live sale).
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from flashsale import services
from flashsale.models import FlashSale, Product, SaleStatus

VENDOR_EMAIL = "vendor@demo.flexpass.dev"

LIVE_SALE = {
    "slug": "midnight-madness",
    "name": "Midnight Madness",
    "description": "Creator tools at up to 70% off. Two-minute holds, two per customer.",
}
UPCOMING_SALE = {
    "slug": "weekend-creator-drop",
    "name": "Weekend Creator Drop",
    "description": "Fonts, sound packs and AI credits.",
}
# name, description, regular price, sale price, stock, per-customer limit, sold by the vendor?
LIVE_ITEMS = [
    (
        "Neural Upscaler Pro",
        "Upscale photos and video frames 4x with a model that keeps skin and text sharp. "
        "Lifetime licence.",
        249_900,
        99_900,
        100,
        2,
        True,
    ),
    (
        "Cinematic LUT Pack",
        "Forty colour grades for Premiere, Resolve and Final Cut, from teal-orange to "
        "film stock emulations.",
        129_900,
        49_900,
        50,
        2,
        True,
    ),
    (
        "Line Icons 2400",
        "2,400 pixel-perfect line icons in SVG, Figma and icon-font formats.",
        149_900,
        59_900,
        8,
        1,
        False,
    ),
]
UPCOMING_ITEMS = [
    (
        "Lo-fi Sound Kit",
        "320 royalty-free loops and one-shots, stems included.",
        89_900,
        29_900,
        60,
        2,
        True,
    ),
    (
        "Display Font Bundle",
        "Twelve display families with desktop and web licences.",
        199_900,
        79_900,
        40,
        1,
        False,
    ),
]


def _product(name, description, regular, vendor) -> Product:
    product, _ = Product.objects.get_or_create(
        name=name,
        defaults={"description": description, "regular_price_paise": regular, "vendor": vendor},
    )
    return product


def _sale(spec: dict, starts_at, ends_at) -> FlashSale:
    sale, created = FlashSale.objects.get_or_create(
        slug=spec["slug"],
        defaults={
            "name": spec["name"],
            "description": spec["description"],
            "starts_at": starts_at,
            "ends_at": ends_at,
            "status": SaleStatus.PUBLISHED,
        },
    )
    if not created and sale.ends_at <= timezone.now():
        FlashSale.objects.filter(pk=sale.pk).update(starts_at=starts_at, ends_at=ends_at)
        sale.refresh_from_db()
    return sale


def _items(sale: FlashSale, specs, vendor) -> int:
    if sale.items.exists():
        return 0
    for position, (name, description, regular, price, stock, limit, by_vendor) in enumerate(specs):
        services.item_create(
            sale=sale,
            product=_product(name, description, regular, vendor if by_vendor else None),
            sale_price_paise=price,
            total=stock,
            per_user_limit=limit,
            position=position,
        )
    return len(specs)


def seed_demo(stdout) -> None:
    now = timezone.now()
    vendor = User.objects.filter(email=VENDOR_EMAIL).first()
    with transaction.atomic():
        live = _sale(LIVE_SALE, now - timedelta(minutes=10), now + timedelta(hours=3))
        created = _items(live, LIVE_ITEMS, vendor)
        tomorrow = (now + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
        upcoming = _sale(UPCOMING_SALE, tomorrow, tomorrow + timedelta(hours=4))
        created += _items(upcoming, UPCOMING_ITEMS, vendor)
    if created:
        stdout.write(f"Flash sales: {live.name} (live) and {upcoming.name} ({created} items).")
