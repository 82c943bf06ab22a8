"""Hold storm: thousands of distinct buyers press "Hold" on one flash-sale item at once.

Not a test: it measures, against a server you start in full mode on this
machine (bench/README.md). Through Django (same DATABASE_URL / REDIS_URL /
DJANGO_SECRET_KEY as the server) it creates a live sale with two items (the
scarce one, default 100 units, and an ample one, default 10,000) and N buyers
signed in with real session cookies, then fires, each phase with C clients in
flight over keep-alive connections:

1. GET  /api/v1/wallet/ping            the trivial authenticated endpoint (baseline)
2. POST /api/v1/flash-sales/items/<scarce>/holds/   N holds, one per buyer
3. POST /api/v1/flash-sales/items/<ample>/holds/    N holds, one per buyer

and prints requests/s, successful holds/s, p50/p95/p99 latency, status counts,
errors, and the web workers' peak RSS (sampled from /proc while the phases run).
Then it checks the database: the scarce item sold exactly its stock (never
one more, never one less while buyers were still asking) and stock recomputed
from the inventory events equals the stored stock.

The load generator is bench/loadgen.py, a minimal HTTP/1.1 keep-alive client on
asyncio streams, so it costs the shared CPUs as little as possible.
Loopback only. Raise the anti-bot window on the server for the storm: every
buyer comes from 127.0.0.1 (FLASH_HOLDS_PER_IP).
"""

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from loadgen import run_phase

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


# --- results --------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    ok_statuses: tuple[int, ...]
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    server_cpu_seconds: float = 0.0  # CPU the web processes used during the phase

    @property
    def done(self) -> int:
        return len(self.latencies)

    @property
    def successes(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def answered(self) -> int:
        """Requests answered as designed (e.g. 201 held or 409 sold out)."""
        return sum(n for status, n in self.statuses.items() if status in self.ok_statuses)

    @property
    def failures(self) -> int:
        return self.done - self.answered + sum(self.errors.values())

    def percentile(self, fraction: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    def row(self) -> dict:
        return {
            "phase": self.name,
            "requests": self.done + sum(self.errors.values()),
            "seconds": round(self.seconds, 2),
            "req_per_s": round(self.done / self.seconds, 1) if self.seconds else 0.0,
            "successes": self.successes,
            "successes_per_s": round(self.successes / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(self.percentile(0.50), 1),
            "p95_ms": round(self.percentile(0.95), 1),
            "p99_ms": round(self.percentile(0.99), 1),
            "mean_ms": round(statistics.fmean(self.latencies) * 1000, 1) if self.latencies else 0,
            "server_cpu_ms_per_request": round(1000 * self.server_cpu_seconds / self.done, 2)
            if self.done
            else 0.0,
            "statuses": dict(sorted(self.statuses.items())),
            "errors": dict(self.errors),
        }


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


def create_sale(run_id: str, scarce: int, ample: int):
    """A live sale with a scarce and an ample item (one per buyer), through the services."""
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from flashsale import services
    from flashsale.models import FlashSale, Product, SaleStatus

    now = timezone.now()
    with transaction.atomic():
        sale = FlashSale.objects.create(
            name=f"Hold storm {run_id}",
            slug=f"hold-storm-{run_id}",
            starts_at=now - timedelta(minutes=1),
            ends_at=now + timedelta(hours=2),
            status=SaleStatus.PUBLISHED,
        )
        items = []
        for label, stock in (("scarce", scarce), ("ample", ample)):
            product = Product.objects.create(
                name=f"Storm {label} {run_id}", regular_price_paise=99_900
            )
            items.append(
                services.item_create(
                    sale=sale,
                    product=product,
                    sale_price_paise=49_900,
                    total=stock,
                    per_user_limit=1,
                )
            )
    return sale, items[0], items[1]


def create_buyers(count: int, run_id: str) -> list[str]:
    """`count` buyers, each with a signed-in session; returns their Cookie headers."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from accounts.models import User

    User.objects.bulk_create(
        [
            User(email=f"storm-{run_id}-{n}@bench.flexpass.dev", password="!bench-unusable")
            for n in range(count)
        ],
        batch_size=1000,
    )
    users = list(User.objects.filter(email__startswith=f"storm-{run_id}-").order_by("pk"))
    store = SessionStore()
    expires = timezone.now() + timezone.timedelta(days=1)
    backend = settings.AUTHENTICATION_BACKENDS[0]
    sessions, cookies = [], []
    for user in users:
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: backend,
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        sessions.append(
            Session(session_key=key, session_data=store.encode(data), expire_date=expires)
        )
        csrf = get_random_string(32)
        cookies.append(
            f"{settings.SESSION_COOKIE_NAME}={key}; {settings.CSRF_COOKIE_NAME}={csrf}\t{csrf}"
        )
    Session.objects.bulk_create(sessions, batch_size=1000)
    return cookies


def verify(sale, scarce, ample, scarce_holds: int, ample_holds: int) -> list[str]:
    from flashsale.checks import stock_discrepancies
    from flashsale.models import Hold, SaleItem

    problems = []
    scarce_now = SaleItem.objects.get(pk=scarce.pk)
    held = Hold.objects.filter(item=scarce).count()
    if held != scarce.total or scarce_now.available != 0:
        problems.append(
            f"scarce item: {held} holds and {scarce_now.available} left of {scarce.total}"
        )
    if scarce_holds != scarce.total:
        problems.append(f"scarce item: {scarce_holds} 201s for {scarce.total} units")
    ample_now = SaleItem.objects.get(pk=ample.pk)
    if ample_now.available != ample.total - ample_holds:
        problems.append(f"ample item: {ample_now.available} left after {ample_holds} holds")
    _, discrepancies = stock_discrepancies(sale_id=sale.pk)
    return problems + discrepancies


def hold_requests(item_id: int, cookies: list[str], run_id: str, tag: str) -> list[tuple]:
    body = json.dumps({"quantity": 1}).encode()
    requests = []
    for n, entry in enumerate(cookies):
        cookie, csrf = entry.split("\t")
        headers = {
            "Cookie": cookie,
            "X-CSRFToken": csrf,
            "Idempotency-Key": f"{run_id}-{tag}-{n}",
            "Content-Type": "application/json",
            "Referer": "http://127.0.0.1/",
        }
        requests.append(("POST", f"/api/v1/flash-sales/items/{item_id}/holds/", headers, body))
    return requests


def ping_requests(cookies: list[str]) -> list[tuple]:
    return [
        ("GET", "/api/v1/wallet/ping", {"Cookie": entry.split("\t")[0]}, b"") for entry in cookies
    ]


# --- web worker memory ----------------------------------------------------------------------


def server_pids(port: int) -> list[int]:
    """The granian/uvicorn/daphne processes serving `port` and their children (the workers)."""
    parents = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = [part.decode(errors="replace") for part in cmd]
        if any("flexpass.asgi" in part for part in text) and (
            str(port) in text or f"--port={port}" in text or f"-p{port}" in text
        ):
            parents.append(int(entry.name))
    pids = set(parents)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) in parents:
                pids.add(int(entry.name))
    return sorted(pids)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of `pids` so far (from /proc/<pid>/stat)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def sample_rss(pids: list[int], peaks: dict[int, float], stop: asyncio.Event):
    while not stop.is_set():
        for pid in pids:
            peaks[pid] = max(peaks.get(pid, 0.0), rss_mb(pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.2)


# --- main -----------------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8051")
    parser.add_argument("--requests", type=int, default=2000, help="holds per phase (buyers)")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--stock", type=int, default=100, help="units of the scarce item")
    parser.add_argument("--ample-stock", type=int, default=10_000)
    parser.add_argument("--max-seconds", type=float, default=180, help="per phase")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    host = urlsplit(args.url).hostname
    if host not in LOOPBACK:
        parser.error("loopback only: --url must point at this machine")
    if not 1 <= args.concurrency <= 1000 or not 1 <= args.requests <= 100_000:
        parser.error("keep --concurrency within 1..1000 and --requests within 1..100000")
    return args


async def storm(args, sale, scarce, ample, cookies, run_id):
    port = urlsplit(args.url).port or 80
    pids = server_pids(port)
    peaks: dict[int, float] = {}
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(pids, peaks, stop))
    phases = []
    for phase, requests in (
        (Phase("ping", (200,)), ping_requests(cookies)),
        (Phase(f"holds {args.stock}", (201, 409)), hold_requests(scarce.pk, cookies, run_id, "s")),
        (Phase(f"holds {args.ample_stock}", (201,)), hold_requests(ample.pk, cookies, run_id, "a")),
    ):
        print(f"  {phase.name}: {len(requests)} requests, {args.concurrency} in flight ...")
        cpu_before = cpu_seconds(pids)
        phases.append(
            await run_phase(phase, args.url, requests, args.concurrency, args.max_seconds)
        )
        phase.server_cpu_seconds = cpu_seconds(pids) - cpu_before
    stop.set()
    await sampler
    return phases, pids, peaks


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    django_setup()
    run_id = uuid.uuid4().hex[:8]
    print(f"Run {run_id}: a live sale with {args.stock} + {args.ample_stock} units, ", end="")
    sale, scarce, ample = create_sale(run_id, args.stock, args.ample_stock)
    print(f"{args.requests} signed-in buyers ...")
    cookies = create_buyers(args.requests, run_id)
    phases, pids, peaks = asyncio.run(storm(args, sale, scarce, ample, cookies, run_id))
    ping, scarce_phase, ample_phase = phases

    print()
    header = (
        f"{'phase':<13}{'req/s':>8}{'ok/s':>8}{'ok':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'cpu ms':>8}  statuses / errors"
    )
    print(header)
    for phase in phases:
        row = phase.row()
        print(
            f"{row['phase']:<13}{row['req_per_s']:>8}{row['successes_per_s']:>8}"
            f"{row['successes']:>7}{row['p50_ms']:>9}{row['p95_ms']:>9}{row['p99_ms']:>9}"
            f"{row['server_cpu_ms_per_request']:>8}  {row['statuses']} {row['errors'] or ''}"
        )
    ratio = (
        (ample_phase.done / ample_phase.seconds) / (ping.done / ping.seconds)
        if ping.seconds and ample_phase.seconds
        else 0.0
    )
    print(f"\nhold path vs trivial endpoint (req/s): {ratio:.2f}")
    print(
        "cpu ms = web processes' CPU per request (load-independent cost; PostgreSQL's own "
        f"CPU not included); load average now {os.getloadavg()[0]:.1f}"
    )
    workers = [pid for pid in pids if pid in peaks]
    print(
        "web processes peak RSS: "
        + (", ".join(f"pid {pid} {peaks[pid]:.0f} MB" for pid in workers) or "not found")
    )

    problems = verify(
        sale, scarce, ample, scarce_phase.statuses.get(201, 0), ample_phase.statuses.get(201, 0)
    )
    sold = scarce_phase.statuses.get(201, 0)
    print(
        f"scarce item sold {sold} of {args.stock}; refused (409 sold out) "
        f"{scarce_phase.statuses.get(409, 0)}"
    )
    print(
        "stock: "
        + (
            "OK - exactly the stock sold, stored stock equals the events"
            if not problems
            else "WRONG"
        )
    )
    for problem in problems:
        print(f"  - {problem}")
    failures = sum(p.failures for p in phases)
    print(f"requests not answered as designed (5xx, resets, timeouts): {failures}")
    if failures:
        problems.append(f"{failures} requests failed")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "run": run_id,
                    "phases": [p.row() for p in phases],
                    "hold_vs_ping": round(ratio, 2),
                    "peak_rss_mb": {str(pid): round(peaks[pid]) for pid in workers},
                    "problems": problems,
                },
                indent=2,
            )
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
