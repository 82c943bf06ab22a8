"""Transfer storm: many concurrent wallet transfers against a running full-mode server.

Not a test: it measures. It opens N funded wallets directly in the server's
database (same DATABASE_URL / REDIS_URL / DJANGO_SECRET_KEY as the server, so
the session cookies it mints are valid there), then fires

* M concurrent GET  /api/v1/wallet/ping       (baseline: the API stack alone)
* M concurrent POST /api/v1/wallet/transfers  (unique Idempotency-Key each)

with the lean client in bench/loadgen.py (asyncio, at most C in flight, bounded
by --max-seconds), prints
throughput and p50/p99 latency of both and their ratio, proves that money was
conserved among the bench wallets, and runs `manage.py check_ledger`.

Loopback only: the URL must point at this machine.

    DATABASE_URL=... REDIS_URL=... DJANGO_SECRET_KEY=... \\
        .venv/bin/python bench/transfer_storm.py --url http://127.0.0.1:8031
"""

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from loadgen import json_request, run_phase

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def done(self) -> int:
        return len(self.latencies)

    @property
    def ok(self) -> int:
        return sum(count for status, count in self.statuses.items() if 200 <= status < 300)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    def line(self) -> str:
        mean = statistics.fmean(self.latencies) * 1000 if self.latencies else float("nan")
        return (
            f"{self.name:<10} {self.ok:>6}/{self.done:<6} ok  {self.rate:8.1f} req/s  "
            f"p50 {self.percentile(0.50):7.1f} ms  p99 {self.percentile(0.99):7.1f} ms  "
            f"mean {mean:7.1f} ms  statuses {dict(sorted(self.statuses.items()))}"
            + (f"  errors {dict(self.errors)}" if self.errors else "")
        )


@dataclass(frozen=True)
class BenchUser:
    user_id: int
    handle: str
    cookie: str
    csrf: str


# --- setup through Django (same database as the server) -------------------------------------


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flexpass.settings.base")
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
    if missing:
        sys.exit(
            f"Set {', '.join(missing)} (and DJANGO_SECRET_KEY) exactly as the server has them."
        )
    import django

    django.setup()


def open_wallets(count: int, fund_paise: int, run_id: str) -> list[BenchUser]:
    """`count` users with `fund_paise` each and a signed-in session (cookie + CSRF token)."""
    from django.conf import settings
    from django.test import Client
    from django.utils.crypto import get_random_string

    from accounts.models import User
    from wallet import services
    from wallet.models import AccountKind, EntryKind

    @services.money_transaction
    def fund(wallet, key):
        return services.entry_post(
            kind=EntryKind.TOPUP,
            legs=[
                services.Leg(services.platform_account(AccountKind.GATEWAY_CLEARING), -fund_paise),
                services.Leg(wallet.available, fund_paise),
            ],
            memo="Benchmark funding",
            category="topups",
            idempotency_key=key,
        )

    users = []
    for number in range(count):
        email = f"storm{run_id}u{number}@bench.flexpass.dev"
        user, _ = User.objects.get_or_create(email=email)
        wallet = services.wallet_ensure(user=user)
        fund(wallet, f"bench:{run_id}:fund:{number}")
        client = Client()
        client.force_login(user)
        csrf = get_random_string(32)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        users.append(
            BenchUser(
                user_id=user.pk,
                handle=wallet.handle,
                cookie=f"{settings.SESSION_COOKIE_NAME}={session}; "
                f"{settings.CSRF_COOKIE_NAME}={csrf}",
                csrf=csrf,
            )
        )
    return users


def wallets_total(users: list[BenchUser]) -> int:
    from django.db.models import Sum

    from wallet.models import Wallet

    return (
        Wallet.objects.filter(user_id__in=[u.user_id for u in users]).aggregate(
            total=Sum("available__balance_paise")
        )["total"]
        or 0
    )


def check_ledger() -> tuple[int | None, str]:
    """`manage.py check_ledger --seal-first` (no beat runs the sealer during a benchmark)."""
    try:
        done = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "check_ledger", "--seal-first"],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=ROOT,
            env=os.environ.copy(),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"could not run: {exc}"
    output = (done.stdout + done.stderr).strip()
    if "Unknown command" in output:
        return None, "manage.py check_ledger does not exist (yet)"
    return done.returncode, output


# --- load -----------------------------------------------------------------------------------


def headers_for(user: BenchUser, **extra) -> dict:
    return {"Cookie": user.cookie, "X-CSRFToken": user.csrf, **extra}


async def run_load(args, users: list[BenchUser], run_id: str) -> tuple[Phase, Phase]:
    rng = random.Random(args.seed)
    ping, transfers = Phase("ping"), Phase("transfers")

    def ping_request(number):
        return ("GET", "/api/v1/wallet/ping", headers_for(users[number % len(users)]), b"")

    # Warm up the server's code paths; not measured.
    warmup = [ping_request(n) for n in range(min(50, args.transfers))]
    await run_phase(Phase("warmup"), args.url, warmup, args.concurrency, 30)
    await run_phase(
        ping,
        args.url,
        [ping_request(n) for n in range(args.transfers)],
        args.concurrency,
        args.max_seconds,
        timeout=args.request_timeout,
    )

    requests = []
    for number in range(args.transfers):
        sender, recipient = rng.sample(users, 2)
        key = f"storm-{run_id}-{number}-{uuid.uuid4()}"
        requests.append(
            json_request(
                "POST",
                "/api/v1/wallet/transfers",
                headers_for(sender, **{"Idempotency-Key": key}),
                {"to": f"@{recipient.handle}", "amount_paise": rng.randint(100, 1_000)},
            )
        )
    await run_phase(
        transfers,
        args.url,
        requests,
        args.concurrency,
        args.max_seconds,
        timeout=args.request_timeout,
    )
    return ping, transfers


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="server base URL")
    parser.add_argument("--users", type=int, default=40, help="funded wallets to open")
    parser.add_argument("--transfers", type=int, default=2000, help="transfers (and pings)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--fund-rupees", type=int, default=10_000, help="starting balance each")
    parser.add_argument("--max-seconds", type=float, default=120, help="time limit per phase")
    parser.add_argument("--request-timeout", type=float, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-check", action="store_true", help="do not run check_ledger")
    args = parser.parse_args(argv)
    host = urlsplit(args.url).hostname or ""
    if host not in LOOPBACK:
        parser.error(f"--url must be a loopback address, not {host!r}")
    if args.users < 2:
        parser.error("--users must be at least 2")
    for name in ("transfers", "concurrency"):
        if not 1 <= getattr(args, name) <= 100_000:
            parser.error(f"--{name} must be between 1 and 100000")
    # DRF's per-user throttle is 1200/min: keep each user well under it.
    per_user = 2 * args.transfers / args.users
    if per_user > 900:
        parser.error(
            f"{per_user:.0f} requests per user would hit the API's 1200/min user throttle; "
            "raise --users"
        )
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        urllib.request.urlopen(f"{args.url}/healthz", timeout=5).close()
    except OSError as exc:
        print(
            f"No server answering at {args.url}/healthz ({exc}). Start one first (bench/README.md)."
        )
        return 2
    django_setup()
    run_id = uuid.uuid4().hex[:8]
    print(f"Opening {args.users} wallets with ₹{args.fund_rupees:,} each (run {run_id}) ...")
    users = open_wallets(args.users, args.fund_rupees * 100, run_id)
    total_before = wallets_total(users)

    print(
        f"Firing {args.transfers} pings, then {args.transfers} transfers at {args.url}, "
        f"{args.concurrency} in flight ..."
    )
    ping, transfers = asyncio.run(run_load(args, users, run_id))
    total_after = wallets_total(users)

    from wallet.models import JournalEntry

    entries = JournalEntry.objects.filter(
        kind="transfer", acting_user_id__in=[u.user_id for u in users]
    ).count()

    print()
    print(ping.line())
    print(transfers.line())
    ratio = transfers.rate / ping.rate if ping.rate else float("nan")
    print(
        f"\ntransfers/s {transfers.rate:.1f}  baseline req/s {ping.rate:.1f}  "
        f"ratio {ratio:.2f} (transfer throughput as a share of the bare API's)"
    )
    print(
        f"transfer p50 {transfers.percentile(0.5):.1f} ms  p99 {transfers.percentile(0.99):.1f} ms"
    )
    conserved = total_before == total_after
    print(
        f"money among bench wallets: before {total_before} after {total_after} paise -> "
        f"{'conserved' if conserved else 'NOT CONSERVED'}"
    )
    matches = entries == transfers.statuses.get(201, 0)
    print(
        f"transfer entries in the ledger {entries}, 201 responses {transfers.statuses.get(201, 0)}"
        f" -> {'match' if matches else 'MISMATCH'}"
    )
    healthy = conserved and matches
    if not args.skip_check:
        code, output = check_ledger()
        print(f"\nmanage.py check_ledger -> exit {code}\n{output}")
        healthy = healthy and code in (0, None)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
