"""Row locks for money, always taken in primary-key order so two entries cannot deadlock."""

from django.db import connection

from wallet.models import LedgerAccount, Reservation, Wallet


def accounts_for_update(account_ids) -> dict[int, LedgerAccount]:
    rows = LedgerAccount.objects.filter(pk__in=set(account_ids)).order_by("pk").select_for_update()
    return {account.pk: account for account in rows}


# The columns read when a LedgerAccount is built from plain SQL (LedgerAccount.from_db).
ACCOUNT_COLUMNS = (
    "id",
    "code",
    "kind",
    "owner_id",
    "may_go_negative",
    "balance_paise",
    "created_at",
)


def account_from_row(values) -> LedgerAccount:
    """A LedgerAccount from the ACCOUNT_COLUMNS of a plain-SQL row."""
    return LedgerAccount.from_db(connection.alias, ACCOUNT_COLUMNS, values)


def accounts_for_posting(account_ids) -> dict[int, LedgerAccount]:
    """Lock accounts for entry_post, in pk order; each carries `low_balance_threshold_paise`.

    Raw SQL because this runs on every money movement and the ORM spends more
    time building the statement than the database spends running it.
    """
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    lock = " FOR NO KEY UPDATE OF a" if connection.features.has_select_for_update else ""
    sql = (
        f"SELECT {', '.join('a.' + column for column in ACCOUNT_COLUMNS)},"
        f" (SELECT w.low_balance_threshold_paise FROM {Wallet._meta.db_table} w"
        "   WHERE w.available_id = a.id)"
        f" FROM {LedgerAccount._meta.db_table} a"
        f" WHERE a.id IN ({', '.join(['%s'] * len(ids))}) ORDER BY a.id{lock}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        rows = cursor.fetchall()
    accounts = {}
    for *values, threshold in rows:
        account = account_from_row(values)
        account.low_balance_threshold_paise = threshold
        accounts[account.pk] = account
    return accounts


def reservation_for_update(reservation_id: int) -> Reservation:
    return (
        Reservation.objects.select_related("wallet")
        .select_for_update(of=("self",))
        .get(pk=reservation_id)
    )
