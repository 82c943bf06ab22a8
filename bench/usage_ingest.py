"""Usage ingest and access checks on the vendor API, against a full-mode server.

Creates a vendor, a usage plan with a very large unit count, a buyer holding a
pass on it and a live API key (directly in the server's database), then:

1. batched ingest: `--batches` POSTs of 1,000 events to /api/v1/vendor/usage/batch/;
2. single ingest: `--singles` POSTs to /api/v1/vendor/usage/events/;
3. access checks: `--checks` POSTs to /api/v1/vendor/access/check/;

each with `--concurrency` requests in flight and 10 % of event ids repeated from
earlier ones. Prints events/s (or checks/s) and p50/p99 latency, then checks
that every unique event id was stored once and the pass lost exactly the units
of accepted events. Exit code 0 only if that holds.

The server must see the same DATABASE_URL / REDIS_URL and run with a per-key
limit high enough for the load (VENDOR_API_RATE_LIMIT=100000000). See README.
"""

import argparse
import asyncio
import logging
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flexpass.settings.base")
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        sys.exit("Set DATABASE_URL and REDIS_URL exactly as the server has them.")
    import django

    django.setup()
    # django.setup() applies the project's LOGGING (root at INFO): httpx would then log
    # every request as a JSON line, costing the load generator - on the server's own
    # CPUs - more than a single event or an access check costs the server.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def setup(run_id: str) -> tuple[str, str, int]:
    """(api key, pass token, pass id) for a fresh vendor and buyer."""
    from accounts.models import User
    from marketplace.models import (
        Category,
        Pass,
        Plan,
        PlanKind,
        Service,
        ServiceStatus,
        VendorProfile,
    )
    from marketplace.services import keys, pass_purchase
    from wallet.models import AccountKind, EntryKind
    from wallet.services import Leg, entry_post, platform_account, wallet_ensure

    vendor_user = User.objects.create_user(email=f"bench-vendor-{run_id}@example.com")
    vendor = VendorProfile.objects.create(
        user=vendor_user, business_name=f"Bench {run_id}", slug=f"bench-{run_id}"
    )
    category, _ = Category.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    service = Service.objects.create(
        vendor=vendor,
        name=f"Bench {run_id}",
        slug=f"bench-{run_id}",
        category=category,
        status=ServiceStatus.LIVE,
    )
    plan = Plan.objects.create(
        service=service, kind=PlanKind.USAGE, name="Bulk", price_paise=100, units=2_000_000_000
    )
    buyer = User.objects.create_user(email=f"bench-buyer-{run_id}@example.com")
    wallet = wallet_ensure(user=buyer)
    from django.db import transaction

    with transaction.atomic():
        entry_post(
            kind=EntryKind.ADJUSTMENT,
            legs=[
                Leg(platform_account(AccountKind.PLATFORM_ADJUSTMENTS), -1_000),
                Leg(wallet.available, 1_000),
            ],
            memo="bench",
        )
    pass_purchase(buyer=buyer, plan=plan, idempotency_key=f"bench-{run_id}")
    p = Pass.objects.get(owner=buyer)
    return keys.api_key_create(vendor=vendor, mode="live").secret, p.token, p.pk


def event_ids(count: int, prefix: str, pool: list[str]) -> list[str]:
    """`count` ids, about 10 % of them repeats of ids already sent."""
    out = []
    for _ in range(count):
        if pool and random.random() < 0.10:
            out.append(random.choice(pool))
        else:
            out.append(f"{prefix}-{uuid.uuid4().hex}")
            pool.append(out[-1])
    return out


async def run(
    client: httpx.AsyncClient, concurrency: int, jobs: list
) -> tuple[float, list[float], list]:
    queue = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    latencies, bodies = [], []

    async def worker():
        while not queue.empty():
            url, payload = queue.get_nowait()
            started = time.perf_counter()
            response = await client.post(url, json=payload)
            latencies.append(time.perf_counter() - started)
            if response.status_code >= 500 or response.status_code == 429:
                raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")
            bodies.append(response.json())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, bodies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else 0.0


async def main_async(args, key: str, token: str) -> dict:
    headers = {"Authorization": f"Bearer {key}"}
    pool: list[str] = []
    out = {}
    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(
        base_url=args.url, headers=headers, timeout=60, limits=limits
    ) as client:
        batches = [
            (
                "/api/v1/vendor/usage/batch/",
                {
                    "events": [
                        {"event_id": i, "pass_token": token, "units": 1}
                        for i in event_ids(1000, f"b{n}", pool)
                    ]
                },
            )
            for n in range(args.batches)
        ]
        took, lat, bodies = await run(client, args.concurrency, batches)
        accepted = sum(b["accepted"] for b in bodies)
        out["batched"] = (args.batches * 1000 / took, pct(lat, 50), pct(lat, 99), accepted)

        singles = [
            ("/api/v1/vendor/usage/events/", {"event_id": i, "pass_token": token, "units": 1})
            for i in event_ids(args.singles, "s", pool)
        ]
        took, lat, bodies = await run(client, args.concurrency, singles)
        accepted_single = sum(1 for b in bodies if b.get("status") == "accepted")
        out["single"] = (args.singles / took, pct(lat, 50), pct(lat, 99), accepted_single)

        checks = [("/api/v1/vendor/access/check/", {"token": token})] * args.checks
        took, lat, bodies = await run(client, args.concurrency, checks)
        assert all(b["valid"] for b in bodies)
        out["checks"] = (args.checks / took, pct(lat, 50), pct(lat, 99), 0)
    out["unique"] = len(set(pool))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8101")
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--singles", type=int, default=3000)
    parser.add_argument("--checks", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    django_setup()
    run_id = uuid.uuid4().hex[:8]
    key, token, pass_id = setup(run_id)
    out = asyncio.run(main_async(args, key, token))

    from marketplace.models import Pass, UsageEvent

    p = Pass.objects.get(pk=pass_id)
    stored = UsageEvent.objects.filter(pass_obj_id=pass_id).count()
    accepted = out["batched"][3] + out["single"][3]
    for name in ("batched", "single", "checks"):
        rate, p50, p99, _ = out[name]
        unit = "checks/s" if name == "checks" else "events/s"
        print(f"{name:8} {rate:10.0f} {unit}   p50 {p50:7.1f} ms   p99 {p99:7.1f} ms")
    ok = stored == out["unique"] == accepted and p.units_total - p.units_left == accepted
    print(
        f"unique ids {out['unique']}, stored {stored}, accepted {accepted}, "
        f"units used {p.units_total - p.units_left}: {'OK' if ok else 'MISMATCH'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
