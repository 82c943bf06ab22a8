"""Row locks for money, always taken in primary-key order so two entries cannot deadlock."""

from wallet.models import LedgerAccount, Reservation


def accounts_for_update(account_ids) -> dict[int, LedgerAccount]:
    rows = LedgerAccount.objects.filter(pk__in=set(account_ids)).order_by("pk").select_for_update()
    return {account.pk: account for account in rows}


def reservation_for_update(reservation_id: int) -> Reservation:
    return (
        Reservation.objects.select_related("wallet")
        .select_for_update(of=("self",))
        .get(pk=reservation_id)
    )
