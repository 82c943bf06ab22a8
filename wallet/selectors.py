"""Reads shared by the wallet pages, the API and the consumers. Append-only: add functions.

The statement is the user's *available* account: every posting there is money
the user could spend arriving or leaving. Reservations show up as money
leaving available (and coming back when released).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache

from django.db import connection
from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from accounts.models import Profile, User
from flexpass import rows
from wallet.errors import RecipientNotFound, TransferRefused
from wallet.models import AccountKind, EntryKind, LedgerAccount, Posting, Reservation, Wallet

# --- balances -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Balances:
    available_paise: int
    reserved_paise: int
    pending_paise: int = 0  # rewards not yet spendable (cashback in its refund window)

    @property
    def total_paise(self) -> int:
        return self.available_paise + self.reserved_paise


def wallet_balances(*, user_id: int) -> Balances:
    """The user's cached balances (zero when no wallet has been opened yet). One query."""
    pending = LedgerAccount.objects.filter(
        owner_id=OuterRef("user_id"), kind=AccountKind.USER_PENDING
    ).values("balance_paise")[:1]
    row = (
        Wallet.objects.filter(user_id=user_id)
        .annotate(pending=Coalesce(Subquery(pending), 0))
        .values_list("available__balance_paise", "reserved__balance_paise", "pending")
        .first()
    )
    return Balances(*row) if row else Balances(0, 0)


# --- statement ------------------------------------------------------------------------------


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def statement_postings(
    *,
    wallet: Wallet,
    kind: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[Posting]:
    """Postings on the wallet's available account, newest first, with the entry joined.

    Each row carries `balance_after_paise`: the account balance right after that
    posting (the sum of the account's postings up to and including it), so it
    stays right when filters hide the rows in between. Dates are whole days in
    the site's time zone, both ends included.
    """
    running = (
        Posting.objects.filter(account_id=OuterRef("account_id"), pk__lte=OuterRef("pk"))
        .order_by()
        .values("account_id")
        .annotate(total=Sum("amount_paise"))
        .values("total")
    )
    postings = (
        Posting.objects.filter(account_id=wallet.available_id)
        .select_related("entry")
        .annotate(balance_after_paise=Coalesce(Subquery(running), 0))
        .order_by("-pk")
    )
    if kind:
        postings = postings.filter(_of_kind(wallet, kind))
    # The calendar's first and last days bound nothing (and would overflow in UTC).
    if date_from and date_from > date.min:
        postings = postings.filter(entry__created_at__gte=_day_start(date_from))
    if date_to and date_to < date.max:
        postings = postings.filter(entry__created_at__lt=_day_start(date_to + timedelta(days=1)))
    return postings


# Money for these kinds leaves available as a reservation (and a rejected withdrawal
# or failed order comes back as a release); the withdrawal or purchase entry itself
# moves reserved money, which the statement does not show.
_RESERVED_FOR = {EntryKind.WITHDRAWAL: "withdrawal", EntryKind.PURCHASE: "order"}


def _of_kind(wallet: Wallet, kind: str) -> Q:
    """Postings of `kind`, and those of the reservations made for that kind of thing."""
    of_kind = Q(entry__kind=kind)
    purpose = _RESERVED_FOR.get(kind)
    if purpose is None:
        return of_kind
    reservations = Reservation.objects.filter(wallet=wallet, purpose=purpose)
    return (
        of_kind
        | Q(entry_id__in=reservations.values("reserve_entry_id"))
        | Q(entry_id__in=reservations.exclude(resolve_entry=None).values("resolve_entry_id"))
    )


def counterpart_handles(postings) -> dict[int, str]:
    """{user_id: handle} for the other side of every transfer among `postings`. One query."""
    user_ids = set()
    for posting in postings:
        metadata = posting.entry.metadata or {}
        if posting.entry.kind == EntryKind.TRANSFER:
            user_ids.update(
                uid for uid in (metadata.get("from_user"), metadata.get("to_user")) if uid
            )
    if not user_ids:
        return {}
    return dict(Wallet.objects.filter(user_id__in=user_ids).values_list("user_id", "handle"))


def posting_description(posting: Posting, *, handles: dict[int, str]) -> str:
    """What a statement line says, from the wallet owner's side of the entry."""
    entry = posting.entry
    metadata = entry.metadata or {}
    if entry.kind == EntryKind.TRANSFER:
        note = metadata.get("note") or ""
        if posting.amount_paise < 0:
            other = handles.get(metadata.get("to_user"))
            head = f"Sent to @{other}" if other else "Money sent"
        else:
            other = handles.get(metadata.get("from_user"))
            head = f"Received from @{other}" if other else "Money received"
        return f"{head} · {note}" if note else head
    return entry.memo or entry.get_kind_display()


@dataclass(frozen=True)
class StatementLine:
    posting_id: int
    entry_id: int
    created_at: datetime
    kind: str
    kind_display: str
    category: str
    description: str
    amount_paise: int
    balance_after_paise: int


def statement_lines(postings) -> list[StatementLine]:
    """Evaluate `statement_postings(...)` (or a page of it) into lines. One query more at most."""
    postings = list(postings)
    handles = counterpart_handles(postings)
    return [
        StatementLine(
            posting_id=posting.pk,
            entry_id=posting.entry_id,
            created_at=posting.entry.created_at,
            kind=posting.entry.kind,
            kind_display=posting.entry.get_kind_display(),
            category=posting.entry.category,
            description=posting_description(posting, handles=handles),
            amount_paise=posting.amount_paise,
            balance_after_paise=posting.balance_after_paise,
        )
        for posting in postings
    ]


# --- spending chart -------------------------------------------------------------------------


def spending_by_day(*, wallet: Wallet, days: int = 30, today: date | None = None) -> dict:
    """Money that left the user's wallet per day and category, for the last `days` days.

    An entry counts with its net effect on the user's available + reserved
    accounts, so moving money into a reservation (or releasing it) is not
    spending, while settling one is. Categories fall back to the entry type.
    Returns {"labels": ["2025-01-31", ...], "series": [{"category", "label",
    "data": [paise per day]}, ...]} with the biggest category first. One query.
    """
    today = today or timezone.localdate()
    first_day = today - timedelta(days=days - 1)
    rows = (
        Posting.objects.filter(
            account_id__in=[wallet.available_id, wallet.reserved_id],
            entry__created_at__gte=_day_start(first_day),
        )
        .values("entry_id", "entry__category", "entry__kind")
        .annotate(day=TruncDate("entry__created_at"), net=Sum("amount_paise"))
        .filter(net__lt=0)
        .order_by()
    )
    labels = [first_day + timedelta(days=offset) for offset in range(days)]
    index = {day: position for position, day in enumerate(labels)}
    kind_labels = dict(EntryKind.choices)
    series: dict[str, dict] = {}
    for row in rows:
        if row["day"] not in index:
            continue  # after today in the site's time zone: the chart stops at today
        category = row["entry__category"] or row["entry__kind"]
        label = (
            category.replace("-", " ").replace("_", " ").capitalize()
            if row["entry__category"]
            else kind_labels.get(row["entry__kind"], category)
        )
        item = series.setdefault(
            category, {"category": category, "label": label, "data": [0] * days}
        )
        item["data"][index[row["day"]]] += -row["net"]
    ordered = sorted(series.values(), key=lambda item: (-sum(item["data"]), item["category"]))
    return {"labels": [day.isoformat() for day in labels], "series": ordered}


# --- recipients -----------------------------------------------------------------------------


def recipient_find(*, query: str) -> User | None:
    """The user someone means by "@handle", "handle" or "name@example.com" (active or not)."""
    text = (query or "").strip()
    if not text:
        return None
    text = text.lstrip("@")
    if "@" in text:
        return User.objects.select_related("profile").filter(email__iexact=text).first()
    return _user_by_handle(text.lower())


@cache
def _by_handle_sql() -> str:
    quote = connection.ops.quote_name
    return (
        f"SELECT {rows.select_list(User, 'u')}, {rows.select_list(Profile, 'p')}"
        f" FROM {quote(User._meta.db_table)} u"
        f" JOIN {quote(Wallet._meta.db_table)} w ON w.user_id = u.id"
        f" LEFT JOIN {quote(Profile._meta.db_table)} p ON p.user_id = u.id"
        " WHERE w.handle = %s"
    )


def _user_by_handle(handle: str) -> User | None:
    """The wallet's owner, with their profile (or None) attached. Every transfer asks this:
    plain SQL on the handle's unique index (handles are lowercase: _handle_for makes
    them so and a CHECK constraint keeps them so); the ORM's case-insensitive form cost
    more CPU than the rest of the lookup and scanned every wallet."""
    with connection.cursor() as cursor:
        cursor.execute(_by_handle_sql(), [handle])
        row = cursor.fetchone()
    if row is None:
        return None
    (user, profile), _ = rows.instances(row, User, Profile)
    if profile.pk is None:  # no profile row: the LEFT JOIN's NULLs
        profile = None
    else:
        Profile.user.field.set_cached_value(profile, user)
    User.profile.related.set_cached_value(user, profile)
    return user


def recipient_access(*, query: str, sender: User) -> User:
    """The recipient `sender` means, or the domain error a form or the API shows."""
    recipient = recipient_find(query=query)
    if recipient is None:
        raise RecipientNotFound("No FlexPass account has that email or handle.")
    if not recipient.is_active:
        raise RecipientNotFound("That account is not active.")
    if recipient.pk == sender.pk:
        raise TransferRefused("You cannot send money to yourself.")
    return recipient


# --- ledger health --------------------------------------------------------------------------


def ledger_check_last_run():
    """The newest finished LedgerCheckRun (for the admin and the health page), or None."""
    from wallet.models import LedgerCheckRun

    return LedgerCheckRun.objects.filter(finished_at__isnull=False).order_by("-id").first()


def ledger_health() -> dict:
    """{"ok", "checked_at", "problems"} from the last ledger check; ok is None if none ran."""
    run = ledger_check_last_run()
    if run is None:
        return {"ok": None, "checked_at": None, "problems": []}
    return {"ok": run.ok, "checked_at": run.finished_at, "problems": run.problems}
