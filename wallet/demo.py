"""Demo wallet data for `make run`: Asha and Ravi start with money and a short history.

Idempotent: every entry has a fixed idempotency key, so running the seeder again
finds the first entries and changes nothing.
"""

from accounts.management.commands.seed_demo import DEMO_USERS
from accounts.models import User
from wallet import services
from wallet.models import AccountKind, EntryKind

# (email, rupees) top-ups, then (key, from, to, rupees, note) transfers, in order.
DEMO_TOPUPS = [
    ("asha@demo.flexpass.dev", 2_500),
    ("ravi@demo.flexpass.dev", 1_500),
]
DEMO_TRANSFERS = [
    ("demo:transfer:1", "asha@demo.flexpass.dev", "ravi@demo.flexpass.dev", 450, "Dinner split"),
    ("demo:transfer:2", "ravi@demo.flexpass.dev", "asha@demo.flexpass.dev", 120, "Cab share"),
    ("demo:transfer:3", "asha@demo.flexpass.dev", "ravi@demo.flexpass.dev", 80, "Coffee"),
]


@services.money_transaction
def demo_topup(*, user, amount_paise: int, idempotency_key: str):
    """Money in from the gateway, as a settled top-up would bring it."""
    wallet = services.wallet_ensure(user=user)
    return services.entry_post(
        kind=EntryKind.TOPUP,
        legs=[
            services.Leg(services.platform_account(AccountKind.GATEWAY_CLEARING), -amount_paise),
            services.Leg(wallet.available, amount_paise),
        ],
        memo="Top-up (demo)",
        category="topups",
        idempotency_key=idempotency_key,
        metadata={"demo": True},
    )


def seed_demo(stdout) -> None:
    emails = {email for email, *_ in DEMO_USERS}
    users = {user.email: user for user in User.objects.filter(email__in=emails)}
    missing = [email for email, _ in DEMO_TOPUPS if email not in users]
    if missing:
        stdout.write(f"wallet demo: skipped, users missing: {', '.join(missing)}")
        return
    for email, rupees in DEMO_TOPUPS:
        demo_topup(
            user=users[email], amount_paise=rupees * 100, idempotency_key=f"demo:topup:{email}"
        )
    for key, sender, recipient, rupees, note in DEMO_TRANSFERS:
        services.wallet_transfer(
            sender=users[sender],
            recipient=users[recipient],
            amount_paise=rupees * 100,
            idempotency_key=key,
            note=note,
        )
    stdout.write("wallet demo: Asha and Ravi have money and a few transfers.")
