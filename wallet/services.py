"""Every movement of money goes through `entry_post`; the use cases below build on it.

Entry points that move money are wrapped in `money_transaction`: a durable
transaction that is retried on lock timeouts, deadlocks and serialization
failures and, if still busy, answered as RetryLater (503) - never as
"insufficient funds".
"""

import contextlib
import functools
import hashlib
import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from flexpass.errors import RetryLater
from flexpass.idempotency import storable_key
from flexpass.realtime import broadcast_on_commit, user_group
from wallet import lock_objects
from wallet.errors import (
    AdjustmentRefused,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidAmount,
    RecipientNotFound,
    ReservationClosed,
    ReservationOwned,
    TransferRefused,
    UnbalancedEntry,
)
from wallet.models import (
    NO_NEGATIVE_KINDS,
    AccountKind,
    EntryKind,
    JournalEntry,
    LedgerAccount,
    LowBalanceAlert,
    Posting,
    Reservation,
    ReservationStatus,
    Wallet,
)

logger = logging.getLogger(__name__)

MAX_AMOUNT_PAISE = 10**12  # ₹1,000 crore: anything larger is a typo or an attack
RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization, deadlock, lock timeout
ATTEMPTS = 3
_ENTRY_KEY_LENGTH = JournalEntry._meta.get_field("idempotency_key").max_length


@dataclass(frozen=True)
class Leg:
    account: LedgerAccount
    amount_paise: int


def validate_amount(amount_paise) -> int:
    """A positive whole number of paise, at most MAX_AMOUNT_PAISE."""
    if isinstance(amount_paise, bool) or not isinstance(amount_paise, int):
        raise InvalidAmount("The amount must be a whole number of paise.")
    if amount_paise <= 0:
        raise InvalidAmount("The amount must be more than zero.")
    if amount_paise > MAX_AMOUNT_PAISE:
        raise InvalidAmount("The amount is too large.")
    return amount_paise


def _is_retryable(exc: Exception) -> bool:
    cause = getattr(exc, "__cause__", None)
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(exc)  # SQLite's busy timeout ran out


def money_transaction(func):
    """Run `func` in a durable transaction; retry it when the database says "try again"."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with transaction.atomic(durable=True), _DeferredBalances.scope() as deferred:
                    result = func(*args, **kwargs)
                    deferred.flush()
                    return result
            except OperationalError as exc:
                if not _is_retryable(exc):
                    raise
                logger.warning("retrying %s after %s (attempt %d)", func.__name__, exc, attempt)
            except IntegrityError as exc:
                # Two requests raced on one idempotency key: the retry finds the winner.
                if "idempotency_key" not in str(exc):
                    raise
            time.sleep(0.02 * attempt)
        raise RetryLater()

    return wrapper


# --- accounts -------------------------------------------------------------------------------


def _account_code(owner, kind: str) -> str:
    """The one naming rule: "platform:<kind>" for the platform's, "user:<id>:<kind>" otherwise."""
    if owner is None:
        return f"platform:{kind.removeprefix('platform_')}"
    return f"user:{owner.pk}:{kind.split('_', 1)[1]}"


def platform_account(kind: str) -> LedgerAccount:
    account, _ = LedgerAccount.objects.get_or_create(
        code=_account_code(None, kind),
        defaults={"kind": kind, "may_go_negative": kind not in NO_NEGATIVE_KINDS},
    )
    return account


def _owned_account(user, kind: str) -> LedgerAccount:
    account, _ = LedgerAccount.objects.get_or_create(
        owner=user, kind=kind, defaults={"code": _account_code(user, kind)}
    )
    return account


def accounts_open(wanted: dict[str, tuple]) -> dict[str, LedgerAccount]:
    """Several accounts at once, {role: (owner or None, kind)} -> {role: account}.

    One query by code (a unique-index probe each) for the usual case where they
    all exist; any that does not is opened the ordinary way.
    """
    codes = {role: _account_code(owner, kind) for role, (owner, kind) in wanted.items()}
    with connection.cursor() as cursor:  # plain SQL, as _wallets_loaded: on every purchase
        cursor.execute(
            f"SELECT {', '.join(lock_objects.ACCOUNT_COLUMNS)} FROM {LedgerAccount._meta.db_table}"
            f" WHERE code IN ({', '.join(['%s'] * len(codes))})",
            list(codes.values()),
        )
        found = {
            account.code: account
            for account in map(lock_objects.account_from_row, cursor.fetchall())
        }
    return {
        role: found.get(codes[role]) or _account_open(owner, kind)
        for role, (owner, kind) in wanted.items()
    }


def _account_open(owner, kind: str) -> LedgerAccount:
    if owner is None:
        return platform_account(kind)
    if kind in (AccountKind.USER_AVAILABLE, AccountKind.USER_RESERVED):
        wallet = wallet_ensure(user=owner)
        return wallet.available if kind == AccountKind.USER_AVAILABLE else wallet.reserved
    return _owned_account(owner, kind)


def pending_account(user) -> LedgerAccount:
    """The user's pending rewards (cashback waiting out its refund window)."""
    return _owned_account(user, AccountKind.USER_PENDING)


def vendor_payable_account(user) -> LedgerAccount:
    return _owned_account(user, AccountKind.VENDOR_PAYABLE)


HANDLE_CLEAN = re.compile(r"[^a-z0-9]+")
HANDLE_ATTEMPTS = 5


def _handle_for(user) -> str:
    base = HANDLE_CLEAN.sub("", user.email.split("@")[0].lower())[:20] or "user"
    candidate = base
    while Wallet.objects.filter(handle=candidate).exists():
        candidate = f"{base}{secrets.randbelow(10_000):04d}"
    return candidate


def wallet_ensure(*, user) -> Wallet:
    """The user's wallet, opened on first use."""
    existing = _wallets_loaded([user.pk]).get(user.pk)
    if existing:
        return existing
    with transaction.atomic():
        available = _owned_account(user, AccountKind.USER_AVAILABLE)
        reserved = _owned_account(user, AccountKind.USER_RESERVED)
        for attempt in range(1, HANDLE_ATTEMPTS + 1):
            try:
                wallet, _ = Wallet.objects.get_or_create(
                    user=user,
                    defaults={
                        "handle": _handle_for(user),
                        "available": available,
                        "reserved": reserved,
                        "low_balance_threshold_paise": settings.WALLET_LOW_BALANCE_DEFAULT_PAISE,
                    },
                )
                break
            except IntegrityError:
                # Another wallet took the handle between our look and our insert
                # (two "asha@..." signing up at once). get_or_create already
                # returned the user's own wallet if that was the clash; pick again.
                if attempt == HANDLE_ATTEMPTS:
                    raise
    return wallet


_WALLET_COLUMNS = ("id", "user_id", "handle", "available_id", "reserved_id",
                   "low_balance_threshold_paise", "created_at")  # fmt: skip


def _wallets_loaded(user_ids: list[int]) -> dict[int, Wallet]:
    """{user id: wallet with both accounts loaded} for the wallets that exist. One query.

    Plain SQL: it is on every transfer and purchase, and the ORM's select_related
    costs more to build than the database takes to answer.
    """
    accounts = LedgerAccount._meta.db_table
    columns = [f"w.{c}" for c in _WALLET_COLUMNS] + [
        f"{alias}.{c}" for alias in ("a", "r") for c in lock_objects.ACCOUNT_COLUMNS
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM {Wallet._meta.db_table} w"
            f" JOIN {accounts} a ON a.id = w.available_id"
            f" JOIN {accounts} r ON r.id = w.reserved_id"
            f" WHERE w.user_id IN ({', '.join(['%s'] * len(user_ids))})",
            user_ids,
        )
        rows = cursor.fetchall()
    found = {}
    wide, narrow = len(_WALLET_COLUMNS), len(lock_objects.ACCOUNT_COLUMNS)
    for row in rows:
        wallet = Wallet.from_db(connection.alias, _WALLET_COLUMNS, row[:wide])
        wallet.available, wallet.reserved = (
            lock_objects.account_from_row(part)
            for part in (row[wide : wide + narrow], row[wide + narrow :])
        )
        found[wallet.user_id] = wallet
    return found


def wallets_ensure(*users) -> list[Wallet]:
    """The users' wallets (accounts loaded) in the order given: one query when they all exist."""
    found = _wallets_loaded([user.pk for user in users])
    return [found.get(user.pk) or wallet_ensure(user=user) for user in users]


# --- the posting function -------------------------------------------------------------------


def _request_hash(kind: str, legs: list[Leg], memo: str) -> str:
    canonical = json.dumps(
        {
            "kind": kind,
            "memo": memo,
            "legs": sorted([leg.account.pk, leg.amount_paise] for leg in legs),
        },
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def entry_post(
    *,
    kind: str,
    legs: list[Leg],
    memo: str = "",
    category: str = "",
    idempotency_key: str | None = None,
    metadata: dict | None = None,
    acting_user=None,
    reverses: JournalEntry | None = None,
) -> JournalEntry:
    """Post one balanced journal entry. The caller holds a transaction (money_transaction).

    Locks the touched accounts in pk order, refuses to take a no-negative account
    below zero (InsufficientFunds), and is idempotent on `idempotency_key`: the
    same key and the same request return the first entry; the same key with a
    different request raises IdempotencyConflict.

    Inside money_transaction, the shared business accounts (platform accounts,
    a vendor's payable) are neither locked nor updated here when nothing about
    them needs checking - a credit, or an account allowed below zero: their
    cached balances move in one step just before the commit (_DeferredBalances).
    Every other account is locked and updated at once.
    """
    if len(legs) < 2:
        raise UnbalancedEntry("An entry needs at least two postings.")
    for leg in legs:
        if isinstance(leg.amount_paise, bool) or not isinstance(leg.amount_paise, int):
            raise InvalidAmount("Posting amounts are whole paise.")
        if leg.amount_paise == 0 or abs(leg.amount_paise) > MAX_AMOUNT_PAISE:
            raise InvalidAmount("A posting amount is zero or too large.")
    if sum(leg.amount_paise for leg in legs) != 0:
        raise UnbalancedEntry("Postings must sum to zero.")

    deferred = _DeferredBalances.current()
    net: dict[int, int] = {}
    accounts: dict[int, LedgerAccount] = {}
    for leg in legs:
        net[leg.account.pk] = net.get(leg.account.pk, 0) + leg.amount_paise
        accounts[leg.account.pk] = leg.account
    later = (
        {pk for pk, account in accounts.items() if deferred.deferrable(account, net[pk])}
        if deferred is not None
        else set()
    )
    now_ids = [pk for pk in net if pk not in later]
    if deferred is not None:
        deferred.take(now_ids)
    locked = lock_objects.accounts_for_posting(now_ids)
    if len(locked) != len(now_ids):
        raise UnbalancedEntry("A posting names an account that does not exist.")
    request_hash = _request_hash(kind, legs, memo)
    if idempotency_key:
        idempotency_key = storable_key(idempotency_key, _ENTRY_KEY_LENGTH)

    # Decide everything before writing anything: a refused entry leaves no trace,
    # so a caller that catches InsufficientFunds inside its transaction (to try
    # another way to pay) does not commit half an entry's balance changes.
    # The locks make the balances read above current.
    for pk in now_ids:
        account, amount = locked[pk], net[pk]
        if amount < 0 and not account.may_go_negative and account.balance_paise + amount < 0:
            first = _entry_with_key(idempotency_key, request_hash)
            if first is not None:  # a replay of an entry that went through earlier
                return first
            raise _insufficient(account, needed_paise=-amount)

    entry = _entry_insert(
        kind=kind,
        memo=memo[:200],
        category=category,
        idempotency_key=idempotency_key or None,
        request_hash=request_hash,
        metadata=metadata or {},
        acting_user_id=acting_user.pk if acting_user else None,
        reverses_id=reverses.pk if reverses else None,
    )
    if entry is None:  # the key was taken: by this very request earlier, or a different one
        return _entry_with_key(idempotency_key, request_hash)

    moves = {pk: net[pk] for pk in now_ids if net[pk]}
    _balances_move(moves)
    for pk, amount in moves.items():
        locked[pk].balance_paise += amount
    _postings_insert(entry, legs)
    if later:
        deferred.add(entry_id=entry.pk, account_ids=later)
    for leg in legs:
        if leg.account.pk in locked:
            leg.account.balance_paise = locked[leg.account.pk].balance_paise
    for pk, amount in moves.items():
        account = locked[pk]
        if account.kind == AccountKind.USER_AVAILABLE and amount < 0:
            _note_low_balance(
                account=account, before_paise=account.balance_paise - amount, entry=entry
            )
    _broadcast_balances(locked.values())
    return entry


def _entry_insert(**fields) -> JournalEntry | None:
    """Insert a journal entry, or return None when its idempotency key is taken.

    One statement (INSERT ... ON CONFLICT DO NOTHING RETURNING) instead of a
    look-up before every insert; PostgreSQL and SQLite both speak it.
    """
    entry = JournalEntry(**fields)  # created_at from its field default
    table = JournalEntry._meta.db_table
    columns = [
        "kind", "memo", "category", "idempotency_key", "request_hash", "metadata",
        "acting_user_id", "reverses_id", "created_at",
    ]  # fmt: skip
    values = [
        JournalEntry._meta.get_field(column.removesuffix("_id")).get_db_prep_save(
            getattr(entry, column), connection
        )
        for column in columns
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
            " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            values,
        )
        row = cursor.fetchone()
    if row is None:
        return None
    entry.pk = row[0]
    entry._state.adding = False
    entry._state.db = connection.alias
    return entry


def _balances_move(moves: dict[int, int]) -> None:
    """Add each amount to its (locked, checked) account's cached balance in one UPDATE.

    The statement re-checks the no-negative rule itself, so it holds even where
    row locks do not exist (SQLite serialises writers instead).
    """
    if not moves:
        return
    delta = f"CASE id {' '.join('WHEN %s THEN %s' for _ in moves)} END"
    params = [value for pk, amount in moves.items() for value in (pk, amount)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {LedgerAccount._meta.db_table} SET balance_paise = balance_paise + {delta}"
            f" WHERE id IN ({', '.join(['%s'] * len(moves))})"
            f" AND (may_go_negative OR balance_paise + {delta} >= 0)",
            [*params, *moves, *params],
        )
        if cursor.rowcount != len(moves):
            # Unreachable while the locks and the check above hold; refuse loudly.
            raise RuntimeError("A locked account's balance changed before the posting.")


def _postings_insert(entry: JournalEntry, legs: list[Leg]) -> None:
    created_at = Posting._meta.get_field("created_at").get_db_prep_save(
        Posting._meta.get_field("created_at").get_default(), connection
    )
    params = [
        value for leg in legs for value in (entry.pk, leg.account.pk, leg.amount_paise, created_at)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Posting._meta.db_table} (entry_id, account_id, amount_paise, created_at)"
            f" VALUES {', '.join(['(%s, %s, %s, %s)'] * len(legs))}",
            params,
        )


def entry_by_key(idempotency_key: str) -> JournalEntry | None:
    """The entry posted under this key, found the way entry_post stored it (long keys digested)."""
    return JournalEntry.objects.filter(
        idempotency_key=storable_key(idempotency_key, _ENTRY_KEY_LENGTH)
    ).first()


def _entry_with_key(idempotency_key: str | None, request_hash: str) -> JournalEntry | None:
    if not idempotency_key:
        return None
    first = entry_by_key(idempotency_key)
    if first is not None and first.request_hash != request_hash:
        raise IdempotencyConflict("This idempotency key was already used for a different request.")
    return first


class _DeferredBalances:
    """Cached balances of shared accounts, brought up to date right before the commit.

    The platform accounts (revenue, cashback, gateway clearing, ...) and a
    popular vendor's payable are on every purchase or top-up. Locking them in
    entry_post would serialise all of those transactions for their whole length;
    here each is locked for one UPDATE at the end, in pk order, so two flushes
    cannot deadlock. (A refund or payout, which debits these rows and so locks
    them early, can still meet a flush in the wrong order; PostgreSQL then
    aborts one and money_transaction retries it. Those are rare staff actions.)
    The delta is summed from this transaction's surviving postings, so an entry
    rolled back to a savepoint is never counted.
    """

    _local = threading.local()

    def __init__(self):
        self.entry_ids: list[int] = []
        self.account_ids: set[int] = set()
        self.direct: set[int] = set()  # moved at once in this transaction: never deferred again

    @classmethod
    def current(cls) -> "_DeferredBalances | None":
        return getattr(cls._local, "state", None)

    def add(self, *, entry_id: int, account_ids: set[int]) -> None:
        self.entry_ids.append(entry_id)
        self.account_ids |= account_ids

    def deferrable(self, account: LedgerAccount, amount: int) -> bool:
        """A shared business account that needs no check now: credited, or allowed below zero.

        Users' own accounts are never deferred: transfers cross between them, and
        two transfers that each held one user's row while waiting for the other's
        at commit would deadlock. Nor is an account already moved at once in this
        transaction.
        """
        shared = account.owner_id is None or account.kind == AccountKind.VENDOR_PAYABLE
        return shared and (amount > 0 or account.may_go_negative) and account.pk not in self.direct

    def take(self, account_ids) -> None:
        """These accounts are about to be locked and moved at once: bring any of them
        that has deferred postings in this transaction up to date first, so a check
        sees them (a credit earlier in the transaction can pay for a debit now)."""
        wanted = set(account_ids)
        self.direct |= wanted
        early = self.account_ids & wanted
        if early:
            self._apply(sorted(early))
            self.account_ids -= early

    def flush(self) -> None:
        if self.account_ids:
            self._apply(sorted(self.account_ids))
        self.entry_ids, self.account_ids = [], set()

    def _apply(self, accounts: list[int]) -> None:
        entries = ", ".join(["%s"] * len(self.entry_ids))
        table, postings = LedgerAccount._meta.db_table, Posting._meta.db_table
        with connection.cursor() as cursor:
            if connection.features.has_select_for_update:
                # One statement: `moved` sums this transaction's postings by entry (the
                # entry index: a handful of rows; MATERIALIZED keeps the planner from
                # reaching them through the account index instead, which for a shared
                # account means every posting it ever had), `locked` locks the rows in
                # id order, then they move.
                marks = ", ".join(["%s"] * len(accounts))
                cursor.execute(
                    f"WITH moved AS MATERIALIZED (SELECT account_id, SUM(amount_paise) AS delta"
                    f" FROM {postings} WHERE entry_id IN ({entries}) GROUP BY account_id),"
                    f" locked AS (SELECT id FROM {table} WHERE id IN ({marks})"
                    " ORDER BY id FOR NO KEY UPDATE)"
                    f" UPDATE {table} a SET balance_paise = a.balance_paise + moved.delta"
                    " FROM locked JOIN moved ON moved.account_id = locked.id"
                    " WHERE a.id = locked.id",
                    [*self.entry_ids, *accounts],
                )
            else:  # SQLite: one writer at a time, no row locks to order
                delta = (
                    f"COALESCE((SELECT SUM(p.amount_paise) FROM {postings} p"
                    f" WHERE p.account_id = a.id AND p.entry_id IN ({entries})), 0)"
                )
                for pk in accounts:
                    cursor.execute(
                        f"UPDATE {table} AS a SET balance_paise = a.balance_paise + {delta}"
                        " WHERE a.id = %s",
                        [*self.entry_ids, pk],
                    )

    @classmethod
    @contextlib.contextmanager
    def scope(cls):
        cls._local.state = state = cls()
        try:
            yield state
        finally:
            cls._local.state = None


_SHORT_MESSAGES = {
    AccountKind.USER_AVAILABLE: "Your wallet balance is too low for this payment.",
    AccountKind.USER_RESERVED: "The money set aside for this has already been used.",
    AccountKind.VENDOR_PAYABLE: "The vendor's balance is too low for this.",
}


def _insufficient(account: LedgerAccount, *, needed_paise: int) -> InsufficientFunds:
    """A message fit for the person paying; internal account codes stay in the logs."""
    logger.info("insufficient funds in %s (needed %d)", account.code, needed_paise)
    message = _SHORT_MESSAGES.get(account.kind, "Not enough money in the account for this.")
    return InsufficientFunds(
        message,
        account_kind=account.kind,
        balance_paise=account.balance_paise if account.kind == AccountKind.USER_AVAILABLE else None,
        needed_paise=needed_paise,
    )


def _note_low_balance(*, account: LedgerAccount, before_paise: int, entry: JournalEntry) -> None:
    """Record a low-balance alert when available funds cross the owner's threshold downwards."""
    threshold = account.low_balance_threshold_paise  # read with the lock (accounts_for_posting)
    if threshold is None or not (before_paise >= threshold > account.balance_paise):
        return
    LowBalanceAlert.objects.create(
        user_id=account.owner_id,
        balance_paise=account.balance_paise,
        threshold_paise=threshold,
        entry=entry,
    )
    broadcast_on_commit(
        user_group(account.owner_id),
        {
            "type": "wallet.low_balance",
            "balance_paise": account.balance_paise,
            "threshold_paise": threshold,
        },
    )


def _broadcast_balances(accounts) -> None:
    owners: dict[int, dict] = {}
    for account in accounts:
        if account.owner_id and account.kind in (
            AccountKind.USER_AVAILABLE,
            AccountKind.USER_RESERVED,
            AccountKind.USER_PENDING,
        ):
            owners.setdefault(account.owner_id, {})[account.kind] = account.balance_paise
    for owner_id in owners:
        broadcast_on_commit(user_group(owner_id), {"type": "wallet.balance", "user_id": owner_id})


# --- transfers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transfer:
    """A transfer's entry and both wallets; `source.available.balance_paise` is the balance after."""

    entry: JournalEntry
    source: Wallet
    target: Wallet


@money_transaction
def wallet_transfer(
    *, sender, recipient, amount_paise: int, idempotency_key: str, note: str = ""
) -> Transfer:
    """Send money from one user's available balance to another's."""
    validate_amount(amount_paise)
    if recipient.pk == sender.pk:
        raise TransferRefused("You cannot send money to yourself.")
    if not recipient.is_active:
        raise RecipientNotFound("That account is not active.")
    source, target = wallets_ensure(sender, recipient)
    entry = entry_post(
        kind=EntryKind.TRANSFER,
        legs=[Leg(source.available, -amount_paise), Leg(target.available, amount_paise)],
        memo=(note or f"Transfer to @{target.handle}")[:200],
        category="transfers",
        idempotency_key=f"user:{sender.pk}:transfer:{idempotency_key}",
        metadata={"from_user": sender.pk, "to_user": recipient.pk, "note": note[:200]},
        acting_user=sender,
    )
    return Transfer(entry=entry, source=source, target=target)


# --- two-phase reservations -----------------------------------------------------------------


def reservation_create(
    *,
    wallet: Wallet,
    amount_paise: int,
    purpose: str,
    idempotency_key: str,
    expires_at: datetime | None = None,
    memo: str = "",
) -> Reservation:
    """Move money from available to reserved. The caller holds a transaction."""
    validate_amount(amount_paise)
    entry = entry_post(
        kind=EntryKind.RESERVE,
        legs=[Leg(wallet.available, -amount_paise), Leg(wallet.reserved, amount_paise)],
        memo=memo or f"Reserved for {purpose}",
        idempotency_key=idempotency_key,
        metadata={"purpose": purpose},
    )
    existing = Reservation.objects.filter(reserve_entry=entry).first()
    if existing:
        return existing
    return Reservation.objects.create(
        wallet=wallet,
        amount_paise=amount_paise,
        purpose=purpose,
        memo=memo,
        expires_at=expires_at,
        reserve_entry=entry,
    )


def _close(reservation: Reservation, status: str, settled_paise: int = 0) -> Reservation:
    """Flip a pending reservation to `status` exactly once (a conditional UPDATE decides)."""
    now = timezone.now()
    closed = Reservation.objects.filter(pk=reservation.pk, status=ReservationStatus.PENDING).update(
        status=status, settled_paise=settled_paise, resolved_at=now
    )
    if closed != 1:
        raise ReservationClosed()
    reservation.status, reservation.settled_paise, reservation.resolved_at = (
        status,
        settled_paise,
        now,
    )
    return reservation


def reservation_settle(
    *,
    reservation: Reservation,
    payees: list[Leg],
    memo: str = "",
    category: str = "",
    kind: str = EntryKind.SETTLE,
    metadata: dict | None = None,
    acting_user=None,
) -> Reservation:
    """Pay `payees` (positive legs) out of the reservation; what is left returns to available.

    The caller holds a transaction. Settling twice raises ReservationClosed.
    """
    for leg in payees:
        validate_amount(leg.amount_paise)  # before _close: a refused settle changes nothing
    total = sum(leg.amount_paise for leg in payees)
    if total > reservation.amount_paise:
        raise InvalidAmount("Settlement must be positive and at most the reserved amount.")
    _close(reservation, ReservationStatus.SETTLED, settled_paise=total)
    wallet = reservation.wallet
    legs = [Leg(wallet.reserved, -reservation.amount_paise), *payees]
    rest = reservation.amount_paise - total
    if rest:
        legs.append(Leg(wallet.available, rest))
    entry = entry_post(
        kind=kind,
        legs=legs,
        memo=memo or f"Settled {reservation.purpose}",
        category=category,
        metadata={"reservation": reservation.pk, **(metadata or {})},
        acting_user=acting_user,
    )
    Reservation.objects.filter(pk=reservation.pk).update(resolve_entry=entry)
    reservation.resolve_entry = entry
    return reservation


def reservation_void(
    *, reservation: Reservation, expired: bool = False, acting_user=None, memo: str = ""
) -> Reservation:
    """Return the whole reservation to available. The caller holds a transaction."""
    status = ReservationStatus.EXPIRED if expired else ReservationStatus.VOIDED
    _close(reservation, status)
    wallet = reservation.wallet
    entry = entry_post(
        kind=EntryKind.VOID,
        legs=[
            Leg(wallet.reserved, -reservation.amount_paise),
            Leg(wallet.available, reservation.amount_paise),
        ],
        memo=memo or ("Reservation expired" if expired else f"Released {reservation.purpose}"),
        metadata={"reservation": reservation.pk},
        acting_user=acting_user,
    )
    Reservation.objects.filter(pk=reservation.pk).update(resolve_entry=entry)
    reservation.resolve_entry = entry
    return reservation


@money_transaction
def reservation_expire_one(*, reservation_id: int) -> bool:
    reservation = Reservation.objects.select_related("wallet__available", "wallet__reserved").get(
        pk=reservation_id
    )
    try:
        reservation_void(reservation=reservation, expired=True)
    except ReservationClosed:
        return False  # settled or voided while we looked: nothing to do
    return True


def reservations_expire_overdue(*, now=None, limit: int = 500) -> int:
    """Void forgotten reservations past their expiry. Safe to run twice and late."""
    ids = list(Reservation.objects.overdue(now).values_list("pk", flat=True)[:limit])
    return sum(reservation_expire_one(reservation_id=pk) for pk in ids)


_OWNED_RESERVATIONS = {  # purpose prefix -> what staff do instead
    "withdrawal": "This money is held for a withdrawal: reject the withdrawal instead.",
    "order": "This money is held for an order: cancel the order instead.",
    "metered session": "This money is held for a metered session: stop the session instead.",
}


@money_transaction
def reservation_release(*, reservation_id: int, acting_user, reason: str = "") -> Reservation:
    """Staff release a pending reservation back to the owner's available balance.

    The admin's "Void reservation" action calls this. Releasing twice raises
    ReservationClosed; the release entry records who did it and why.
    """
    reservation = Reservation.objects.select_related("wallet__available", "wallet__reserved").get(
        pk=reservation_id
    )
    owner = next((o for o in _OWNED_RESERVATIONS if reservation.purpose.startswith(o)), None)
    if owner is not None:
        # Its flow would still wait on it (a withdrawal "under review" for good, a
        # session that cannot stop): end the flow itself, which releases the money.
        raise ReservationOwned(_OWNED_RESERVATIONS[owner])
    reason = reason.strip()
    return reservation_void(
        reservation=reservation,
        acting_user=acting_user,
        memo=(f"Released by staff: {reason}" if reason else "Released by staff")[:200],
    )


# --- staff adjustments ----------------------------------------------------------------------


@money_transaction
def wallet_adjust(
    *, user, amount_paise: int, reason: str, acting_user, idempotency_key: str
) -> JournalEntry:
    """Staff correct a user's available balance against the platform adjustments account.

    Positive amounts credit the user, negative amounts debit (never below zero).
    The entry is the audit trail: kind ADJUSTMENT, `acting_user`, and the reason
    in its memo and metadata. The same key returns the first adjustment.
    """
    if acting_user is None or not acting_user.is_staff:
        raise AdjustmentRefused("Only staff can adjust a balance.")
    reason = (reason or "").strip()
    if not reason:
        raise AdjustmentRefused("Say why the balance is being adjusted.")
    if isinstance(amount_paise, bool) or not isinstance(amount_paise, int):
        raise InvalidAmount("The amount must be a whole number of paise.")
    if amount_paise == 0:
        raise InvalidAmount("An adjustment cannot be zero.")
    validate_amount(abs(amount_paise))
    if not idempotency_key:
        raise AdjustmentRefused("An adjustment needs an idempotency key.")

    wallet = wallet_ensure(user=user)
    adjustments = platform_account(AccountKind.PLATFORM_ADJUSTMENTS)
    direction = "credit" if amount_paise > 0 else "debit"
    return entry_post(
        kind=EntryKind.ADJUSTMENT,
        legs=[Leg(adjustments, -amount_paise), Leg(wallet.available, amount_paise)],
        memo=f"Adjustment ({direction}): {reason}"[:200],
        category="adjustments",
        idempotency_key=f"staff:{acting_user.pk}:adjust:{idempotency_key}",
        metadata={"reason": reason[:500], "user": user.pk, "acting_user": acting_user.pk},
        acting_user=acting_user,
    )
