"""Demo catalog for `make run`: PixelForge Studio's services with every kind of plan. Idempotent."""

from django.core.files.base import ContentFile
from django.db import transaction

from accounts.models import User
from marketplace.models import (
    Category,
    MeteredUnit,
    Plan,
    PlanKind,
    Service,
    ServiceStatus,
    VendorProfile,
)
from marketplace.services import pass_purchase
from wallet import services as ledger
from wallet.errors import InsufficientFunds
from wallet.models import AccountKind, EntryKind

VENDOR_EMAIL = "vendor@demo.flexpass.dev"

# slug, name, category slug, accent, tagline, description, plans
SERVICES = [
    (
        "imagegen-pro",
        "ImageGen Pro",
        "ai-tools",
        "#5b4cf0",
        "Studio-quality images from a sentence",
        "Type what you imagine and get four high-resolution takes in seconds.\n"
        "Upscaling, inpainting and style presets included. Commercial use allowed.",
        [
            (PlanKind.TIME, "Day pass", 4_900, {"duration_hours": 24}),
            (PlanKind.TIME, "Week pass", 19_900, {"duration_hours": 168}),
            (
                PlanKind.USAGE,
                "100 images",
                14_900,
                {"units": 100, "unit_label": "images", "validity_days": 30},
            ),
        ],
    ),
    (
        "scribe-ai",
        "Scribe AI",
        "ai-tools",
        "#0f9d8a",
        "Drafts, rewrites and summaries in your voice",
        "A writing assistant that learns your tone. Paste a draft, pick a goal, done.",
        [
            (PlanKind.TIME, "Day pass", 2_900, {"duration_hours": 24}),
            (PlanKind.USAGE, "50 documents", 9_900, {"units": 50, "unit_label": "documents"}),
        ],
    ),
    (
        "weathernow-api",
        "WeatherNow API",
        "data-apis",
        "#0284c7",
        "Hyperlocal forecasts for any Indian pin code",
        "Current conditions, hourly and 10-day forecasts, air quality. JSON over HTTPS, 99.9 % uptime.",
        [
            (
                PlanKind.USAGE,
                "1,000 calls",
                19_900,
                {"units": 1000, "unit_label": "calls", "validity_days": 30},
            ),
            (
                PlanKind.USAGE,
                "10,000 calls",
                99_900,
                {"units": 10000, "unit_label": "calls", "validity_days": 90},
            ),
            (
                PlanKind.METERED,
                "Pay per call",
                0,
                {"metered_rate_paise": 25, "metered_unit": MeteredUnit.CALL},
            ),
        ],
    ),
    (
        "marketpulse-data",
        "MarketPulse Data",
        "data-apis",
        "#d97706",
        "NSE & BSE tick data with a 1-second delay",
        "Streaming quotes, OHLC candles and corporate actions for 5,000+ listed companies.",
        [
            (PlanKind.TIME, "Trading day", 9_900, {"duration_hours": 12}),
            (
                PlanKind.METERED,
                "Streaming, per minute",
                0,
                {"metered_rate_paise": 50, "metered_unit": MeteredUnit.MINUTE},
            ),
        ],
    ),
    (
        "fontforge-library",
        "FontForge Library",
        "creative-assets",
        "#db2777",
        "2,000 licensed fonts, download what you need",
        "Every font comes with a commercial licence for the projects you download it for.",
        [
            (
                PlanKind.USAGE,
                "10 downloads",
                7_900,
                {"units": 10, "unit_label": "downloads", "validity_days": 60},
            ),
            (PlanKind.TIME, "Day of unlimited downloads", 14_900, {"duration_hours": 24}),
        ],
    ),
    (
        "stockshot-photos",
        "StockShot Photos",
        "creative-assets",
        "#16a34a",
        "Royalty-free photos shot across India",
        "Over 300,000 photos of real places and people, from Kochi to Kargil.",
        [
            (PlanKind.USAGE, "25 photos", 24_900, {"units": 25, "unit_label": "photos"}),
            (PlanKind.TIME, "Week pass", 59_900, {"duration_hours": 168}),
        ],
    ),
    (
        "codepair-live",
        "CodePair Live",
        "developer-tools",
        "#475569",
        "A senior engineer on call while you code",
        "Share your screen with a vetted engineer. Billed by the minute, stop any time.",
        [
            (
                PlanKind.METERED,
                "Per minute",
                0,
                {"metered_rate_paise": 1_500, "metered_unit": MeteredUnit.MINUTE},
            ),
            (PlanKind.TIME, "1-hour session", 79_900, {"duration_hours": 1}),
        ],
    ),
    (
        "focusflow",
        "FocusFlow",
        "productivity",
        "#7c3aed",
        "Deep-work timer, blockers and soundscapes",
        "Block distracting sites, track focus streaks and listen to calm soundscapes.",
        [
            (PlanKind.TIME, "Day pass", 900, {"duration_hours": 24}),
            (PlanKind.TIME, "Month pass", 14_900, {"duration_hours": 720}),
        ],
    ),
]


def _logo_svg(initials: str, accent: str) -> bytes:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 112 112">'
        f'<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="{accent}"/>'
        f'<stop offset="1" stop-color="{accent}" stop-opacity=".72"/></linearGradient></defs>'
        '<rect width="112" height="112" rx="28" fill="url(#g)"/>'
        '<circle cx="88" cy="24" r="34" fill="#fff" fill-opacity=".12"/>'
        f'<text x="56" y="70" font-family="Inter,Segoe UI,Arial,sans-serif" font-size="40" '
        f'font-weight="700" fill="#fff" text-anchor="middle">{initials}</text></svg>'
    ).encode()


def seed_demo(stdout) -> None:
    vendor_user = User.objects.filter(email=VENDOR_EMAIL).first()
    if vendor_user is None:
        return
    with transaction.atomic():
        vendor, _ = VendorProfile.objects.get_or_create(
            user=vendor_user,
            defaults={
                "business_name": "PixelForge Studio",
                "slug": "pixelforge",
                "tagline": "Tools for makers, paid by the day",
            },
        )
        for slug, name, category_slug, accent, tagline, description, plans in SERVICES:
            category = Category.objects.get(slug=category_slug)
            service, created = Service.objects.get_or_create(
                slug=slug,
                defaults={
                    "vendor": vendor,
                    "name": name,
                    "category": category,
                    "accent": accent,
                    "tagline": tagline,
                    "description": description,
                    "status": ServiceStatus.LIVE,
                },
            )
            if created or not service.logo:
                service.logo.save(
                    f"{slug}.svg", ContentFile(_logo_svg(service.initials, accent)), save=True
                )
            for position, (kind, plan_name, price, extra) in enumerate(plans):
                Plan.objects.get_or_create(
                    service=service,
                    name=plan_name,
                    defaults={"kind": kind, "price_paise": price, "position": position, **extra},
                )
    bought = _demo_purchases()
    _demo_earlier_earnings(vendor)
    stdout.write(
        f"Marketplace: {len(SERVICES)} demo services by {vendor.business_name}"
        f" and {bought} demo purchases."
    )


# (idempotency key, buyer, service slug, plan name): the vendor console, the
# earnings chart and "My passes" have something to show from the first run.
DEMO_PURCHASES = [
    ("demo:buy:asha:1", "asha@demo.flexpass.dev", "imagegen-pro", "Day pass"),
    ("demo:buy:asha:2", "asha@demo.flexpass.dev", "scribe-ai", "50 documents"),
    ("demo:buy:asha:3", "asha@demo.flexpass.dev", "focusflow", "Day pass"),
    ("demo:buy:ravi:1", "ravi@demo.flexpass.dev", "weathernow-api", None),
    ("demo:buy:ravi:2", "ravi@demo.flexpass.dev", "focusflow", "Month pass"),
]


def _demo_purchases() -> int:
    """Buy a few passes through the real purchase service (idempotent keys: safe to rerun)."""
    buyers = {user.email: user for user in User.objects.filter(email__contains="@demo.")}
    bought = 0
    for key, email, slug, plan_name in DEMO_PURCHASES:
        plans = Plan.objects.filter(service__slug=slug, is_active=True).exclude(
            kind=PlanKind.METERED
        )
        plan = plans.filter(name=plan_name).first() if plan_name else plans.first()
        if email not in buyers or plan is None:
            continue
        try:
            pass_purchase(buyer=buyers[email], plan=plan, idempotency_key=key)
        except InsufficientFunds:
            continue  # a demo wallet spent elsewhere; the demo stays usable without it
        bought += 1
    return bought


DEMO_EARLIER_EARNINGS_PAISE = 125_000


@ledger.money_transaction
def _demo_earlier_earnings(vendor) -> None:
    """The demo sales are minutes old, so their share is held for the refund window: an
    opening balance (a staff adjustment, once per key) gives "move earnings" something
    to move on the first run."""
    ledger.entry_post(
        kind=EntryKind.ADJUSTMENT,
        legs=[
            ledger.Leg(
                ledger.platform_account(AccountKind.PLATFORM_ADJUSTMENTS),
                -DEMO_EARLIER_EARNINGS_PAISE,
            ),
            ledger.Leg(ledger.vendor_payable_account(vendor.user), DEMO_EARLIER_EARNINGS_PAISE),
        ],
        memo="Earnings carried over from before the demo",
        category="earnings",
        idempotency_key="demo:vendor:earlier-earnings",
    )
