"""Demo data for `make run`. Idempotent: running it twice changes nothing.

Later features add their own demo data through `DEMO_SEEDERS` below (one
function per app, each idempotent), so this one command stays the entry point.
"""

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from accounts.services import profile_ensure

DEMO_PASSWORD = "flexpass-demo"
DEMO_USERS = [
    # email, role, display name, is_staff
    ("asha@demo.flexpass.dev", User.Role.CUSTOMER, "Asha Rao", False),
    ("ravi@demo.flexpass.dev", User.Role.CUSTOMER, "Ravi Menon", False),
    ("vendor@demo.flexpass.dev", User.Role.VENDOR, "PixelForge Studio", False),
    ("staff@demo.flexpass.dev", User.Role.STAFF, "Operations", True),
]

DEMO_SEEDERS: list[str] = [  # dotted paths of `seed_demo(stdout)` functions in other apps
    "wallet.demo.seed_demo",
    "marketplace.demo.seed_demo",
    "flashsale.demo.seed_demo",
    "support.demo.seed_demo",
]


def demo_users() -> dict[str, User]:
    users = {}
    for email, role, name, is_staff in DEMO_USERS:
        user, created = User.objects.get_or_create(
            email=email, defaults={"role": role, "is_staff": is_staff, "is_superuser": is_staff}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        profile = profile_ensure(user=user)
        if not profile.display_name:
            profile.display_name = name
            profile.save(update_fields=["display_name"])
        EmailAddress.objects.get_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        users[email] = user
    return users


class Command(BaseCommand):
    help = "Load demo users (and each app's demo data). Safe to run any number of times."

    def handle(self, *args, **options):
        from django.utils.module_loading import import_string

        with transaction.atomic():
            demo_users()
        for path in DEMO_SEEDERS:
            import_string(path)(self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in with any of these:"))
        for email, role, _name, _staff in DEMO_USERS:
            self.stdout.write(f"  {role.label:<9} {email:<28} password: {DEMO_PASSWORD}")
