"""Row locks billing takes. Always evaluated, in primary-key order."""

from django.contrib.auth import get_user_model

from billing.models import TopUp, Withdrawal


def user_for_topup(user_id: int) -> None:
    """Serialise one user's top-up creations so the daily limit cannot be raced past.

    Billing owns no per-user row, so it locks the user row (read-only use of
    accounts' table; nothing is written to it).
    """
    list(get_user_model().objects.filter(pk=user_id).select_for_update().values_list("pk"))


def topup_for_update(topup_id: int) -> TopUp:
    return TopUp.objects.select_for_update(of=("self",)).select_related("user").get(pk=topup_id)


def withdrawal_for_update(withdrawal_id: int) -> Withdrawal:
    return Withdrawal.objects.select_for_update(of=("self",)).get(pk=withdrawal_id)
