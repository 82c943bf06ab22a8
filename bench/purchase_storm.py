"""Purchase storm: many buyers buying passes at once, and the catalog page cached vs uncached.

Not a test: it measures, against a running full-mode server (same DATABASE_URL,
REDIS_URL and DJANGO_SECRET_KEY in this process, so the session cookies it
mints are valid there). Phases, each bounded by --max-seconds:

* ping       M concurrent GET /api/v1/wallet/ping (the bare authenticated API: baseline)
* purchases  M concurrent POST /api/v1/passes/ (wallet purchases, an Idempotency-Key each)
* uncached   GET /catalog/ where every request misses the fragment cache (each asks for a
             different out-of-range page, which renders the same last page from the database)
* cached     GET /catalog/ (the same page again and again: a fragment cache hit)

It prints purchases/s, p50/p99, the purchase/ping ratio and the cached/uncached
ratio, then checks the books: one Purchase, one Pass and one purchase entry per
201, every buyer's balance down by exactly what they bought, and
`manage.py check_ledger`. Exit code 0 only if all of that holds.

Loopback only.

    DATABASE_URL=... REDIS_URL=... DJANGO_SECRET_KEY=... \\
        .venv/bin/python bench/purchase_storm.py --url http://127.0.0.1:8081
"""

import argparse
import asyncio
import random
import sys
import urllib.request
import uuid
from urllib.parse import urlsplit

from loadgen import json_request, run_phase
from transfer_storm import (
    LOOPBACK,
    Phase,
    check_ledger,
    django_setup,
    headers_for,
    open_wallets,
)

BENCH_SERVICES = 4
PRICE_PAISE = 4_900
MAX_UNCACHED = 990  # distinct out-of-range page numbers (the view clamps at 1000)


def bench_plans() -> list[int]:
    """A bench vendor with a few live services, each with a ₹49 day pass. Idempotent."""
    from accounts.models import User
    from marketplace.models import Category, Plan, PlanKind, Service, ServiceStatus, VendorProfile

    user, _ = User.objects.get_or_create(
        email="bench-vendor@bench.flexpass.dev", defaults={"role": User.Role.VENDOR}
    )
    vendor, _ = VendorProfile.objects.get_or_create(
        user=user, defaults={"business_name": "Bench Tools", "slug": "bench-tools"}
    )
    category = Category.objects.order_by("position").first()
    plan_ids = []
    for number in range(BENCH_SERVICES):
        service, _ = Service.objects.get_or_create(
            slug=f"bench-service-{number}",
            defaults={
                "vendor": vendor,
                "name": f"Bench Service {number}",
                "category": category,
                "tagline": "A service for the purchase storm",
                "status": ServiceStatus.LIVE,
            },
        )
        plan, _ = Plan.objects.get_or_create(
            service=service,
            name="Day pass",
            defaults={"kind": PlanKind.TIME, "price_paise": PRICE_PAISE, "duration_hours": 24},
        )
        plan_ids.append(plan.pk)
    return plan_ids


def balances(user_ids: list[int]) -> dict[int, int]:
    from wallet.models import Wallet

    return dict(
        Wallet.objects.filter(user_id__in=user_ids).values_list(
            "user_id", "available__balance_paise"
        )
    )


async def run_load(args, users, plan_ids, run_id) -> dict[str, Phase]:
    rng = random.Random(args.seed)
    phases = {name: Phase(name) for name in ("ping", "purchases", "uncached", "cached")}

    async def phase(name, requests):
        await run_phase(
            phases[name],
            args.url,
            requests,
            args.concurrency,
            args.max_seconds,
            timeout=args.request_timeout,
        )

    def ping(number):
        return ("GET", "/api/v1/wallet/ping", headers_for(users[number % len(users)]), b"")

    await run_phase(  # warm up the server's code paths; not measured
        Phase("warmup"),
        args.url,
        [ping(n) if n % 2 else ("GET", "/catalog/", {}, b"") for n in range(50)],
        args.concurrency,
        30,
    )
    await phase("ping", [ping(n) for n in range(args.purchases)])

    buys = [(rng.choice(users), rng.choice(plan_ids)) for _ in range(args.purchases)]
    await phase(
        "purchases",
        [
            json_request(
                "POST",
                "/api/v1/passes/",
                headers_for(buyer, **{"Idempotency-Key": f"storm-{run_id}-{n}-{uuid.uuid4()}"}),
                {"plan_id": plan_id},
            )
            for n, (buyer, plan_id) in enumerate(buys)
        ],
    )

    # Anonymous visitors (no cookies): the visitors the whole-page cache is for.
    from marketplace.catalog_cache import catalog_cache_invalidate

    await asyncio.to_thread(catalog_cache_invalidate)  # autocommit: a fresh generation now
    uncached = min(args.catalog_requests, MAX_UNCACHED)
    await phase("uncached", [("GET", f"/catalog/?page={n + 10}", {}, b"") for n in range(uncached)])
    await phase("cached", [("GET", "/catalog/", {}, b"")] * args.catalog_requests)
    return phases


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8081", help="server base URL")
    parser.add_argument("--users", type=int, default=40, help="funded buyers")
    parser.add_argument("--purchases", type=int, default=2000, help="purchases (and pings)")
    parser.add_argument("--catalog-requests", type=int, default=900, help="per catalog phase")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--fund-rupees", type=int, default=10_000, help="starting balance each")
    parser.add_argument("--max-seconds", type=float, default=120, help="time limit per phase")
    parser.add_argument("--request-timeout", type=float, default=30)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--skip-check", action="store_true", help="do not run check_ledger")
    args = parser.parse_args(argv)
    host = urlsplit(args.url).hostname or ""
    if host not in LOOPBACK:
        parser.error(f"--url must be a loopback address, not {host!r}")
    for name in ("users", "purchases", "catalog_requests", "concurrency"):
        if not 1 <= getattr(args, name) <= 100_000:
            parser.error(f"--{name.replace('_', '-')} must be between 1 and 100000")
    per_user = 2 * args.purchases / args.users
    if per_user > 900:
        parser.error(f"{per_user:.0f} requests per user would hit the 1200/min throttle")
    if args.fund_rupees * 100 < PRICE_PAISE * (args.purchases / args.users) * 3:
        parser.error("--fund-rupees is too low for every buyer to afford their share")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        urllib.request.urlopen(f"{args.url}/healthz", timeout=5).close()
    except OSError as exc:
        print(f"No server answering at {args.url}/healthz ({exc}). See bench/README.md.")
        return 2
    django_setup()
    run_id = uuid.uuid4().hex[:8]
    print(f"Opening {args.users} buyers with ₹{args.fund_rupees:,} each (run {run_id}) ...")
    users = open_wallets(args.users, args.fund_rupees * 100, run_id)
    plan_ids = bench_plans()
    user_ids = [u.user_id for u in users]
    before = balances(user_ids)

    print(
        f"{args.purchases} pings, {args.purchases} purchases, {args.catalog_requests} catalog "
        f"requests uncached and cached at {args.url}, {args.concurrency} in flight ..."
    )
    phases = asyncio.run(run_load(args, users, plan_ids, run_id))
    after = balances(user_ids)

    from django.db.models import Count, Sum

    from marketplace.models import Pass, Purchase
    from wallet.models import JournalEntry

    bought = Purchase.objects.filter(buyer_id__in=user_ids)
    per_buyer = dict(
        bought.values("buyer_id").annotate(s=Sum("price_paise")).values_list("buyer_id", "s")
    )
    counts = bought.aggregate(n=Count("pk"))["n"]
    passes = Pass.objects.filter(owner_id__in=user_ids).count()
    entries = JournalEntry.objects.filter(kind="purchase", acting_user_id__in=user_ids).count()
    created = phases["purchases"].statuses.get(201, 0)

    print()
    for phase in phases.values():
        print(phase.line())
    ping, purchases = phases["ping"], phases["purchases"]
    uncached, cached = phases["uncached"], phases["cached"]
    buy_ratio = purchases.rate / ping.rate if ping.rate else float("nan")
    cache_ratio = cached.rate / uncached.rate if uncached.rate else float("nan")
    print(
        f"\npurchases/s {purchases.rate:.1f}  p50 {purchases.percentile(0.5):.1f} ms  "
        f"p99 {purchases.percentile(0.99):.1f} ms  baseline ping req/s {ping.rate:.1f}  "
        f"ratio {buy_ratio:.2f} (target >= 0.5)"
    )
    print(
        f"catalog req/s uncached {uncached.rate:.1f}  cached {cached.rate:.1f}  "
        f"ratio {cache_ratio:.1f}x (target >= 5x)"
    )
    books = counts == created and passes == created and entries == created
    print(
        f"201s {created}, purchases {counts}, passes {passes}, purchase entries {entries} -> "
        f"{'match' if books else 'MISMATCH'}"
    )
    spent_right = all(before[u] - after[u] == per_buyer.get(u, 0) for u in user_ids)
    print(f"every buyer's balance down by exactly what they bought -> {spent_right}")
    healthy = books and spent_right
    if not args.skip_check:
        code, output = check_ledger()
        print(f"\nmanage.py check_ledger -> exit {code}\n{output}")
        healthy = healthy and code in (0, None)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
