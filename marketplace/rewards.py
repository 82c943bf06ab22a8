"""Rewards on purchases: 5 % cashback, the double-sided referral bonus, badges, receipts.

Called by the purchase use case (marketplace.services.purchases.purchase_record)
inside its money_transaction, so a purchase and its rewards commit together and
happen exactly once. Every reward moves money only through wallet.services.

Ledger flows (see docs/architecture.md):
- cashback granted:  platform cashback -c, buyer pending +c      (two legs of the purchase entry)
- cashback released: buyer pending -c, buyer available +c        (job, after the window)
- referral bonus:    platform referral -(a+b), referrer +a, new user +b
"""

import logging
import re
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import User
from flexpass import mail, rows
from flexpass.jobs import job_record_run
from flexpass.money import format_rupees, percent_of
from marketplace import badges
from marketplace.models import (
    CashbackGrant,
    CashbackStatus,
    Purchase,
    ReferralReward,
)
from support.services import notify
from wallet.models import AccountKind, EntryKind
from wallet.services import Leg, entry_post, money_transaction, pending_account, platform_account

logger = logging.getLogger(__name__)


def cashback_for(price_paise: int) -> int:
    """The cashback on a price: CASHBACK_PERCENT %, rounded half-up to a paisa (flexpass.money)."""
    return percent_of(price_paise, settings.CASHBACK_PERCENT)


def rewards_on_purchase(*, purchase: Purchase) -> None:
    """Record the purchase's pending cashback, pay the referral bonus if due, award badges.

    The caller holds the purchase's money_transaction, and its entry carried
    cashback_legs.
    """
    _cashback_grant(purchase)
    standing = badges.standing_of(user=purchase.buyer)
    badges.badges_award(user=purchase.buyer, standing=standing)
    # Only a first purchase can earn the referral bonus: repeat buyers skip the look-up.
    if standing.purchases == 1:
        referrer = _referral_pay(purchase)
        if referrer is not None:
            badges.badges_award(user=referrer)


# --- cashback ---------------------------------------------------------------------------------


def cashback_legs(*, price_paise: int, pending, platform_cashback) -> list[Leg]:
    """The cashback on a purchase as legs of the purchase's own entry: platform cashback
    -c, buyer pending +c. One entry instead of two saves a lock, three writes and a
    round of checks on every purchase; the grant row (rewards_on_purchase) tracks it."""
    amount = cashback_for(price_paise)
    if amount <= 0:
        return []
    return [Leg(platform_cashback, -amount), Leg(pending, amount)]


def _cashback_grant(purchase: Purchase) -> CashbackGrant | None:
    amount = cashback_for(purchase.price_paise)
    if amount <= 0:
        return None
    release_at = purchase.created_at + timedelta(hours=settings.CASHBACK_REFUND_WINDOW_HOURS)
    grant = CashbackGrant(
        purchase=purchase, user=purchase.buyer, amount_paise=amount, release_at=release_at
    )
    rows.insert(grant)  # on every purchase: plain SQL (flexpass.rows)
    return grant


@money_transaction
def cashback_release_one(*, grant_id: int, now=None) -> bool:
    """Release one due grant to the buyer's available balance, exactly once."""
    now = now or timezone.now()
    released = CashbackGrant.objects.filter(
        pk=grant_id, status=CashbackStatus.PENDING, release_at__lte=now
    ).update(status=CashbackStatus.RELEASED, released_at=now)
    if released != 1:
        return False  # released by a twin run, or cancelled by a refund meanwhile
    grant = CashbackGrant.objects.select_related("user", "purchase__service").get(pk=grant_id)
    amount = grant.outstanding_paise
    if amount > 0:
        entry_post(
            kind=EntryKind.CASHBACK,
            legs=[Leg(pending_account(grant.user), -amount), Leg(_available(grant.user), amount)],
            memo=f"Cashback released: {grant.purchase.service.name}",
            category="cashback",
            idempotency_key=f"cashback:{grant.purchase_id}:release",
            metadata={"purchase": grant.purchase_id, "grant": grant.pk},
        )
        notify(
            user=grant.user,
            kind="cashback_released",
            title=f"{format_rupees(amount)} cashback is in your wallet",
            body=f"Your cashback on {grant.purchase.service.name} is ready to spend.",
            url="/wallet/",
            dedupe_key=f"cashback-released:{grant.pk}",
        )
    return True


def cashback_release_due(*, now=None, limit: int = 1000) -> int:
    """Release every pending grant whose refund window has closed. Safe to run twice and late."""
    now = now or timezone.now()
    ids = list(
        CashbackGrant.objects.filter(status=CashbackStatus.PENDING, release_at__lte=now)
        .order_by("release_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    released = sum(cashback_release_one(grant_id=pk, now=now) for pk in ids)
    job_record_run("marketplace-release-cashback")
    return released


def _available(user):
    from wallet.services import wallet_ensure

    return wallet_ensure(user=user).available


# --- referrals --------------------------------------------------------------------------------

_GMAIL = {"gmail.com", "googlemail.com"}


def normalized_email(email: str) -> str:
    """The mailbox an address reaches: lower case, +tags dropped, Gmail's dots ignored."""
    local, _, domain = email.strip().lower().partition("@")
    local = local.split("+", 1)[0]
    if domain in _GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def _phone_digits(phone: str) -> str:
    digits = re.sub(r"\D", "", phone or "")
    return digits[-10:] if len(digits) >= 7 else ""


def _identities(user) -> tuple[set[str], str]:
    emails = {normalized_email(user.email)}
    emails |= {
        normalized_email(address)
        for address in EmailAddress.objects.filter(user=user, verified=True).values_list(
            "email", flat=True
        )
    }
    profile = getattr(user, "profile", None)
    return emails, _phone_digits(profile.phone if profile else "")


def same_person(first, second) -> bool:
    """True when two accounts share a (normalised) verified email or a phone number."""
    if first.pk == second.pk:
        return True
    first_emails, first_phone = _identities(first)
    second_emails, second_phone = _identities(second)
    return bool(first_emails & second_emails) or bool(first_phone and first_phone == second_phone)


def _referral_pay(purchase: Purchase):
    """Pay the referral bonus on the referred user's first purchase; returns the referrer.

    Exactly once per referred user: the unique row is inserted with ON CONFLICT
    DO NOTHING, so of two concurrent first purchases only one wins.
    """
    buyer = purchase.buyer
    referrer = (
        User.objects.select_related("profile")
        .filter(referrals__user=buyer, is_active=True)  # read now, not from a cached profile
        .first()
    )
    if referrer is None or same_person(buyer, referrer):
        return None
    if Purchase.objects.filter(buyer=buyer, pk__lt=purchase.pk).exists():
        return None  # not their first purchase
    to_referrer = settings.REFERRAL_REFERRER_REWARD_PAISE
    to_referred = settings.REFERRAL_REFEREE_REWARD_PAISE
    ReferralReward.objects.bulk_create(
        [
            ReferralReward(
                referred=buyer,
                referrer=referrer,
                purchase=purchase,
                referrer_paise=to_referrer,
                referred_paise=to_referred,
            )
        ],
        ignore_conflicts=True,
    )
    reward = ReferralReward.objects.filter(referred=buyer, purchase=purchase).first()
    if reward is None:
        return None  # a concurrent first purchase already earned it
    entry = entry_post(
        kind=EntryKind.REFERRAL,
        legs=[
            Leg(platform_account(AccountKind.PLATFORM_REFERRAL), -(to_referrer + to_referred)),
            Leg(_available(referrer), to_referrer),
            Leg(_available(buyer), to_referred),
        ],
        memo=f"Referral bonus: {buyer.display_name} joined through {referrer.display_name}",
        category="referral",
        idempotency_key=f"referral:{buyer.pk}",
        metadata={"purchase": purchase.pk, "referrer": referrer.pk, "referred": buyer.pk},
    )
    ReferralReward.objects.filter(pk=reward.pk).update(entry=entry)
    notify(
        user=referrer,
        kind="referral_reward",
        title=f"You earned {format_rupees(to_referrer)}: {buyer.display_name} made a purchase",
        body="Thanks for inviting a friend to FlexPass. The bonus is in your wallet.",
        url="/wallet/",
        dedupe_key=f"referral-referrer:{buyer.pk}",
    )
    notify(
        user=buyer,
        kind="referral_reward",
        title=f"Welcome bonus: {format_rupees(to_referred)} from {referrer.display_name}'s invite",
        body="It is in your wallet, ready to spend.",
        url="/wallet/",
        dedupe_key=f"referral-referred:{buyer.pk}",
    )
    return referrer


# --- receipts ---------------------------------------------------------------------------------


# A lost receipt is worth sending up to a day late.
RECEIPTS = mail.Outbox(
    Purchase.objects.all(),
    claimed="receipt_claimed_at",
    sent="receipt_emailed_at",
    retry_window=timedelta(days=1),
)


def receipt_email_send(*, purchase_id: int, now=None) -> bool:
    """Email the HTML + text receipt. True if this call sent it.

    Runs in a Celery task after the purchase committed, and from the retry job
    for a receipt whose task was lost: rendered first, then claimed, sent and
    marked sent through the receipts' outbox (flexpass.mail), so the two never
    send it at the same time. A send that may work later raises, for the task
    to retry.
    """
    purchase = (
        Purchase.objects.select_related("buyer", "plan", "service__vendor", "pass_obj")
        .filter(pk=purchase_id, receipt_emailed_at__isnull=True)
        .first()
    )
    if purchase is None:
        return False
    context = {
        "purchase": purchase,
        "pass": getattr(purchase, "pass_obj", None),
        "cashback": CashbackGrant.objects.filter(purchase=purchase).first(),
        "price": format_rupees(purchase.price_paise),
        "site_url": settings.SITE_URL.rstrip("/"),
    }
    subject = f"Your FlexPass receipt: {purchase.service.name} · {purchase.plan.name}"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("marketplace/email/receipt.txt", context),
        to=[purchase.buyer.email],
    )
    message.attach_alternative(
        render_to_string("marketplace/email/receipt.html", context), "text/html"
    )
    return RECEIPTS.send(purchase_id, message, now or timezone.now())


def receipts_send_due(*, now=None, limit: int = 100) -> int:
    """Send the receipts whose after-commit task never ran or died (broker down, worker lost).

    The retry job: safe to run twice and late (flexpass.mail.Outbox.send_due).
    """
    now = now or timezone.now()
    return RECEIPTS.send_due(
        lambda pk: receipt_email_send(purchase_id=pk, now=now), now=now, limit=limit
    )
