"""Proof that the ledger is right: the seal chain (tamper evidence) and the ledger check.

* `ledger_seal` links every committed journal entry into a SHA-256 hash chain,
  in batches, off the hot path (beat runs it every 30 s). Entries are sealed in
  id order within a batch; an entry that commits late (a lower id committed
  after a higher one was sealed) simply joins the chain later, so the chain
  order is `LedgerSeal.sequence`, not the entry id.
* `ledger_check` proves, against one consistent snapshot: every entry sums to
  zero (and has two postings or more), every cached balance equals the sum of
  its postings, no no-negative account is negative, all balances sum to zero,
  every seal still matches its entry's content and the chain matches the head
  the previous run saw. Each failure names the account code or entry id.

The sums are aggregate SQL. The chain walk streams seals in chunks (three
queries per chunk) and hashes in Python, since each link depends on the one
before it.
"""

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Max, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from flexpass import locks
from wallet.models import (
    NO_NEGATIVE_KINDS,
    JournalEntry,
    LedgerAccount,
    LedgerCheckRun,
    LedgerSeal,
    Posting,
)

logger = logging.getLogger(__name__)

GENESIS_SEAL = "0" * 64
SEAL_LOCK_KEY = "wallet:ledger-seal"
SEAL_ADVISORY_LOCK_ID = 0x5EA1ED  # pg_advisory_xact_lock id held while sealing
CHAIN_CHUNK = 2000
# The sealer looks this many entry ids back from the newest sealed entry, so an
# entry that committed after higher ids were sealed is still found cheaply.
SEAL_LOOKBACK_IDS = 10_000
# An entry may wait this long for the sealer (beat runs it every 30 s) before the
# check reports it: older unsealed entries mean the sealer stopped.
SEAL_GRACE = timedelta(minutes=10)
MAX_PROBLEMS_PER_KIND = 50  # keep the stored report readable when everything is wrong


# --- the seal chain -------------------------------------------------------------------------


def entry_digest_content(entry: dict, postings: list[tuple[int, int, int]]) -> str:
    """The canonical text of one entry that its seal covers.

    `entry` holds id, kind, created_at, idempotency_key, memo, category,
    metadata, acting_user_id, reverses_id; `postings` are (posting id, account
    id, amount) tuples. Sorted keys, no spaces, UTC timestamps: the same entry
    always gives the same text, on PostgreSQL and SQLite alike.
    """
    created_at = entry["created_at"].astimezone(UTC).isoformat()
    return json.dumps(
        [
            entry["id"],
            entry["kind"],
            created_at,
            entry["idempotency_key"],
            sorted([list(p) for p in postings]),
            entry["memo"],
            entry["category"],
            entry["metadata"],
            entry["acting_user_id"],
            entry["reverses_id"],
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )


def seal_for(previous_seal: str, content: str) -> str:
    return hashlib.sha256((previous_seal + content).encode()).hexdigest()


_ENTRY_FIELDS = (
    "id",
    "kind",
    "created_at",
    "idempotency_key",
    "memo",
    "category",
    "metadata",
    "acting_user_id",
    "reverses_id",
)


def _postings_by_entry(postings, entry_ids) -> dict[int, list[tuple[int, int, int]]]:
    """{entry id: [(posting id, account id, amount), ...]} for `entry_ids`, read from the
    `postings` queryset (a join filter: long IN lists cost more than the hashing)."""
    grouped: dict[int, list[tuple[int, int, int]]] = {pk: [] for pk in entry_ids}
    rows = postings.order_by().values_list("entry_id", "id", "account_id", "amount_paise")
    for entry_id, posting_id, account_id, amount in rows:
        if entry_id in grouped:  # the filter may also match an entry outside this batch
            grouped[entry_id].append((posting_id, account_id, amount))
    return grouped


def ledger_seal(*, batch: int = 1000, sweep: bool = False) -> int:
    """Seal up to `batch` unsealed entries, oldest id first; return how many were sealed.

    Safe to run twice at once: the Redis lock turns a second sealer away politely,
    a PostgreSQL advisory lock queues it if Redis was flushed, and the unique
    sequence and entry columns refuse a forked chain whatever happens.

    To stay cheap as the ledger grows, only entries within SEAL_LOOKBACK_IDS ids
    of the newest sealed one are looked at (that covers entries committed late
    by concurrent transactions); `sweep=True` looks at every entry. The ledger
    check reports any entry left unsealed past SEAL_GRACE.
    """
    try:
        with locks.lock(SEAL_LOCK_KEY, timeout=120):
            return _seal_batch(batch, sweep=sweep)
    except locks.LockNotAcquired:
        return 0  # another sealer is at work
    except IntegrityError:
        logger.info("another sealer extended the chain first; nothing sealed this time")
        return 0


@transaction.atomic
def _seal_batch(batch: int, *, sweep: bool = False) -> int:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_ADVISORY_LOCK_ID])
    head = LedgerSeal.objects.order_by("-sequence").values_list("sequence", "seal").first()
    sequence, previous = head or (0, GENESIS_SEAL)
    unsealed = JournalEntry.objects.filter(seal__isnull=True)
    if not sweep:
        newest = LedgerSeal.objects.aggregate(newest=Max("entry_id"))["newest"] or 0
        unsealed = unsealed.filter(id__gt=newest - SEAL_LOOKBACK_IDS)
    entries = list(unsealed.order_by("id").values(*_ENTRY_FIELDS)[:batch])
    if not entries:
        return 0
    postings = _postings_by_entry(
        Posting.objects.filter(
            entry__seal__isnull=True,
            entry_id__gte=entries[0]["id"],
            entry_id__lte=entries[-1]["id"],
        ),
        [entry["id"] for entry in entries],
    )
    now = timezone.now()
    seals = []
    for entry in entries:
        sequence += 1
        previous = seal_for(previous, entry_digest_content(entry, postings[entry["id"]]))
        seals.append(
            LedgerSeal(sequence=sequence, entry_id=entry["id"], seal=previous, sealed_at=now)
        )
    LedgerSeal.objects.bulk_create(seals)
    return len(seals)


def ledger_seal_all(*, batch: int = 1000, max_batches: int = 50, sweep: bool = False) -> int:
    """Seal until nothing is left (or `max_batches` ran); what the periodic task calls."""
    total = 0
    for _ in range(max_batches):
        sealed = ledger_seal(batch=batch, sweep=sweep)
        total += sealed
        if sealed < batch:
            break
    return total


# --- the check ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    account: str | None = None  # account code
    entry: int | None = None  # journal entry id

    def describe(self) -> str:
        where = []
        if self.account:
            where.append(f"account {self.account}")
        if self.entry is not None:
            where.append(f"entry #{self.entry}")
        return f"[{self.code}] {', '.join(where) + ': ' if where else ''}{self.message}"


@dataclass
class LedgerCheckResult:
    ok: bool
    problems: list[Problem] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    run_id: int | None = None

    def problems_with(self, code: str) -> list[Problem]:
        return [problem for problem in self.problems if problem.code == code]

    def report(self) -> str:
        """Plain text for the command line and logs."""
        s = self.stats
        run = f" (run #{self.run_id})" if self.run_id is not None else ""
        lines = [
            f"Ledger check {'OK' if self.ok else 'FAILED'}{run}",
            f"  entries: {s.get('entries', 0)}, postings: {s.get('postings', 0)}, "
            f"accounts: {s.get('accounts', 0)}",
            f"  sum of postings: {s.get('postings_total_paise', 0)} paise, "
            f"sum of cached balances: {s.get('balances_total_paise', 0)} paise",
            f"  sealed: {s.get('sealed', 0)} (head #{s.get('head_sequence', 0)}), "
            f"unsealed: {s.get('unsealed', 0)}",
        ]
        lines += [f"  PROBLEM {problem.describe()}" for problem in self.problems]
        return "\n".join(lines)


def _capped(problems: list[Problem]) -> list[Problem]:
    return problems[:MAX_PROBLEMS_PER_KIND]


def _check_entries() -> list[Problem]:
    unbalanced = (
        Posting.objects.order_by()
        .values("entry_id")
        .annotate(total=Sum("amount_paise"))
        .exclude(total=0)
        .order_by("entry_id")
    )
    problems = [
        Problem(
            "unbalanced_entry",
            f"postings sum to {row['total']} paise, not 0",
            entry=row["entry_id"],
        )
        for row in unbalanced[:MAX_PROBLEMS_PER_KIND]
    ]
    thin = (
        JournalEntry.objects.order_by()
        .annotate(legs=Count("postings"))
        .filter(legs__lt=2)
        .order_by("id")
        .values_list("id", "legs")
    )
    problems += [
        Problem("too_few_postings", f"has {legs} posting(s); an entry needs two or more", entry=pk)
        for pk, legs in thin[:MAX_PROBLEMS_PER_KIND]
    ]
    return problems


def _check_accounts() -> list[Problem]:
    posted = (
        Posting.objects.filter(account_id=OuterRef("pk"))
        .order_by()
        .values("account_id")
        .annotate(total=Sum("amount_paise"))
        .values("total")
    )
    drifted = (
        LedgerAccount.objects.annotate(posted=Coalesce(Subquery(posted), Value(0)))
        .exclude(balance_paise=F("posted"))
        .order_by("id")
        .values_list("code", "balance_paise", "posted")
    )
    problems = [
        Problem(
            "balance_drift",
            f"cached balance {balance} paise but its postings sum to {total} paise",
            account=code,
        )
        for code, balance, total in drifted[:MAX_PROBLEMS_PER_KIND]
    ]
    negative = (
        LedgerAccount.objects.filter(may_go_negative=False, balance_paise__lt=0)
        .order_by("id")
        .values_list("code", "balance_paise")
    )
    problems += _capped(
        [
            Problem("negative_balance", f"must not go negative but holds {bal} paise", account=code)
            for code, bal in negative
        ]
    )
    loose = (
        LedgerAccount.objects.filter(kind__in=NO_NEGATIVE_KINDS, may_go_negative=True)
        .order_by("id")
        .values_list("code", "kind")
    )
    problems += _capped(
        [
            Problem("may_go_negative", f"a {kind} account is allowed to go negative", account=code)
            for code, kind in loose
        ]
    )
    return problems


def _check_chain(previous_head: tuple[int, str] | None) -> tuple[list[Problem], dict]:
    problems: list[Problem] = []
    expected_sequence = 1
    previous = GENESIS_SEAL
    last_sequence = 0
    while True:
        chunk = list(
            LedgerSeal.objects.filter(sequence__gt=last_sequence)
            .order_by("sequence")
            .values_list("sequence", "entry_id", "seal")[:CHAIN_CHUNK]
        )
        if not chunk:
            break
        entry_ids = [entry_id for _, entry_id, _ in chunk]
        window = {"seal__sequence__gt": last_sequence, "seal__sequence__lte": chunk[-1][0]}
        entries = {
            row["id"]: row
            for row in JournalEntry.objects.filter(**window).order_by().values(*_ENTRY_FIELDS)
        }
        postings = _postings_by_entry(
            Posting.objects.filter(**{f"entry__{key}": value for key, value in window.items()}),
            entry_ids,
        )
        for sequence, entry_id, stored in chunk:
            if sequence != expected_sequence:
                problems.append(
                    Problem(
                        "seal_gap",
                        f"the chain jumps from seal #{expected_sequence - 1} to #{sequence}",
                        entry=entry_id,
                    )
                )
            entry = entries.get(entry_id)
            if entry is None:
                problems.append(
                    Problem(
                        "sealed_entry_missing",
                        f"seal #{sequence} names a deleted entry",
                        entry=entry_id,
                    )
                )
            elif seal_for(previous, entry_digest_content(entry, postings[entry_id])) != stored:
                problems.append(
                    Problem(
                        "seal_mismatch",
                        f"content no longer matches seal #{sequence} (edited after sealing)",
                        entry=entry_id,
                    )
                )
            previous = stored
            expected_sequence = sequence + 1
        last_sequence = chunk[-1][0]
        if len(chunk) < CHAIN_CHUNK:
            break  # that was the end of the chain

    head_seal = previous if last_sequence else None
    if previous_head is not None:
        sequence, seal = previous_head
        now_there = (
            LedgerSeal.objects.filter(sequence=sequence).values_list("entry_id", "seal").first()
        )
        if now_there is None or now_there[1] != seal:
            problems.append(
                Problem(
                    "chain_rewritten",
                    f"seal #{sequence} differs from the one the previous check saw",
                    entry=now_there[0] if now_there else None,
                )
            )
    return problems, {"head_sequence": last_sequence, "head_seal": head_seal}


def _check_unsealed(now) -> tuple[list[Problem], int]:
    unsealed = JournalEntry.objects.filter(seal__isnull=True)
    stale = (
        unsealed.filter(created_at__lt=now - SEAL_GRACE).order_by("id").values_list("id", flat=True)
    )
    problems = [
        Problem(
            "unsealed_entry",
            f"not sealed after {SEAL_GRACE}; is the sealer running? "
            "(manage.py check_ledger --seal-first seals every entry)",
            entry=pk,
        )
        for pk in stale[:MAX_PROBLEMS_PER_KIND]
    ]
    return problems, unsealed.count()


def _totals() -> dict:
    postings = Posting.objects.order_by().aggregate(n=Count("id"), total=Sum("amount_paise"))
    accounts = LedgerAccount.objects.order_by().aggregate(n=Count("id"), total=Sum("balance_paise"))
    return {
        "entries": JournalEntry.objects.count(),
        "postings": postings["n"],
        "postings_total_paise": postings["total"] or 0,
        "accounts": accounts["n"],
        "balances_total_paise": accounts["total"] or 0,
        "sealed": LedgerSeal.objects.count(),
    }


def _previous_head() -> tuple[int, str] | None:
    last = (
        LedgerCheckRun.objects.filter(ok=True, stats__head_sequence__gt=0)
        .order_by("-id")
        .values_list("stats", flat=True)
        .first()
    )
    return (last["head_sequence"], last["head_seal"]) if last else None


def _run_checks(previous_head) -> tuple[list[Problem], dict]:
    now = timezone.now()
    stats = _totals()
    problems = _check_entries() + _check_accounts()
    if stats["postings_total_paise"] != 0:
        problems.append(
            Problem("ledger_total", f"all postings sum to {stats['postings_total_paise']} paise")
        )
    if stats["balances_total_paise"] != 0:
        problems.append(
            Problem("balances_total", f"all cached balances sum to {stats['balances_total_paise']}")
        )
    chain_problems, head = _check_chain(previous_head)
    unsealed_problems, unsealed = _check_unsealed(now)
    stats.update(head, unsealed=unsealed)
    return problems + chain_problems + unsealed_problems, stats


def ledger_check(*, triggered_by: str = "") -> LedgerCheckResult:
    """Prove the ledger's invariants against one snapshot; store and return the result.

    Outside a transaction the checks run in one REPEATABLE READ, READ ONLY
    transaction on PostgreSQL, so money moving while the check runs cannot
    show up as a false drift.
    """
    previous_head = _previous_head()
    run = LedgerCheckRun.objects.create(triggered_by=triggered_by)
    if connection.in_atomic_block:
        problems, stats = _run_checks(previous_head)
    else:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            problems, stats = _run_checks(previous_head)
    ok = not problems
    LedgerCheckRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(),
        ok=ok,
        problems=[asdict(problem) for problem in problems],
        stats=stats,
    )
    if not ok:
        logger.error("ledger check #%s found %d problem(s)", run.pk, len(problems))
    return LedgerCheckResult(ok=ok, problems=problems, stats=stats, run_id=run.pk)
