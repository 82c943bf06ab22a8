"""Badges: every rule in this one module, each badge awarded once (a unique constraint)."""

from dataclasses import dataclass

from django.db import connection

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


@dataclass(frozen=True)
class Standing:
    """What the rules look at, and the badges the user already has."""

    purchases: int
    spent_paise: int
    referred_a_buyer: bool
    badges: frozenset[str]


def standing_of(*, user) -> Standing:
    """The user's purchases, spend, referrals and badges in one query.

    Plain SQL because it runs on every purchase and the ORM spent longer building
    the five subqueries than the database spends answering them.
    """
    has_badge = (
        f"EXISTS (SELECT 1 FROM {UserBadge._meta.db_table} WHERE user_id = %s AND code = %s)"
    )
    sql = (
        f"SELECT COUNT(*), COALESCE(SUM(price_paise), 0),"
        f" EXISTS (SELECT 1 FROM {ReferralReward._meta.db_table} WHERE referrer_id = %s),"
        f" {', '.join([has_badge] * len(BADGES))}"
        f" FROM {Purchase._meta.db_table} WHERE buyer_id = %s"
    )
    params = [user.pk, *(value for code in BADGES for value in (user.pk, code)), user.pk]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        purchases, spent, referred, *has = cursor.fetchone()
    return Standing(
        purchases=purchases,
        spent_paise=spent,
        referred_a_buyer=bool(referred),
        badges=frozenset(code for code, owned in zip(BADGES, has, strict=True) if owned),
    )


def _earned(standing: Standing) -> set[str]:
    earned = set()
    if standing.purchases >= 1:
        earned.add("first_purchase")
    if standing.purchases >= REGULAR_PASSES:
        earned.add("regular")
    if standing.spent_paise >= BIG_SPENDER_PAISE:
        earned.add("big_spender")
    if standing.referred_a_buyer:
        earned.add("first_referral")
    return earned


def earned_codes(*, user) -> set[str]:
    """Which badges `user` has earned by the rules."""
    return _earned(standing_of(user=user))


def badges_award(*, user, standing: Standing | None = None) -> list[str]:
    """Award what `user` has newly earned; returns the new codes. Safe to run any time.

    `standing`: the caller's fresh standing_of(user), to save reading it twice.
    """
    standing = standing or standing_of(user=user)
    new = sorted(_earned(standing) - standing.badges)
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
