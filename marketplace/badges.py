"""Badges: every rule in this one module, each badge awarded once (a unique constraint)."""

from dataclasses import dataclass

from django.db.models import Count, Sum

from marketplace.models import Purchase, ReferralReward, UserBadge


@dataclass(frozen=True)
class Badge:
    code: str
    name: str
    description: str
    mark: str  # two characters shown in the round badge


BIG_SPENDER_PAISE = 500_000  # ₹5,000 in total
REGULAR_PASSES = 10

BADGES = {
    badge.code: badge
    for badge in (
        Badge("first_purchase", "First pass", "Bought your first pass.", "1st"),
        Badge("regular", "Regular", f"Bought {REGULAR_PASSES} passes.", "10"),
        Badge("first_referral", "Connector", "A friend you invited made a purchase.", "+1"),
        Badge("big_spender", "Big spender", "Spent ₹5,000 on FlexPass.", "₹"),
    )
}


def earned_codes(*, user) -> set[str]:
    """Which badges `user` has earned by the rules, from two aggregate queries."""
    stats = Purchase.objects.filter(buyer=user).aggregate(
        count=Count("pk"), spent=Sum("price_paise")
    )
    count, spent = stats["count"] or 0, stats["spent"] or 0
    earned = set()
    if count >= 1:
        earned.add("first_purchase")
    if count >= REGULAR_PASSES:
        earned.add("regular")
    if spent >= BIG_SPENDER_PAISE:
        earned.add("big_spender")
    if ReferralReward.objects.filter(referrer=user).exists():
        earned.add("first_referral")
    return earned


def badges_award(*, user) -> list[str]:
    """Award what `user` has newly earned; returns the new codes. Safe to run any time."""
    have = set(UserBadge.objects.filter(user=user).values_list("code", flat=True))
    new = sorted(earned_codes(user=user) - have)
    if new:
        UserBadge.objects.bulk_create(
            [UserBadge(user=user, code=code) for code in new], ignore_conflicts=True
        )
    return new


def badges_for(user) -> list[tuple[Badge, object]]:
    """(badge, awarded_at) for the user's badges, in the order they were earned."""
    return [
        (BADGES[code], awarded_at)
        for code, awarded_at in UserBadge.objects.filter(user=user).values_list(
            "code", "awarded_at"
        )
        if code in BADGES
    ]
