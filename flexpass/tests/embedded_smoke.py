"""The main flows in embedded mode (SQLite, no Redis), run by test_embedded.py in a
child process: `make run` is one of the two commands, and hand-written SQL that
PostgreSQL accepts can still trip SQLite."""

import json
import uuid

from django.core.management import call_command
from django.test import Client

PAGES = (
    "/", "/catalog/", "/wallet/", "/wallet/send/", "/passes/", "/receipts/", "/flash/",
    "/profile/", "/notifications/", "/sessions/", "/support/", "/billing/topup/",
)  # fmt: skip
VENDOR_PAGES = ("/vendor/", "/vendor/earnings/", "/vendor/passes/", "/vendor/services/")
STAFF_PAGES = ("/admin/", "/admin/flashsale/flashsale/metrics/", "/support/agent/")


def _signed_in(email: str) -> Client:
    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email=email))
    return client


def _post(client: Client, url: str, body: dict, key: str | None = None):
    key = key or str(uuid.uuid4())
    return client.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


def run() -> None:
    from flashsale.models import SaleItem
    from marketplace.models import Plan

    outcome: dict[str, int | str] = {}
    buyer = _signed_in("asha@demo.flexpass.dev")
    for url in PAGES:
        outcome[f"GET {url}"] = buyer.get(url).status_code

    plan = Plan.objects.filter(kind="time", is_active=True, service__status="live").first()
    outcome["buy a pass"] = _post(buyer, "/api/v1/passes/", {"plan_id": plan.pk}).status_code
    item = SaleItem.objects.filter(
        available__gt=0, product__isnull=False, per_user_limit__gt=1
    ).first()
    hold_url = f"/api/v1/flash-sales/items/{item.pk}/holds/"
    held = _post(buyer, hold_url, {"quantity": 1}, key="smoke-hold")
    outcome["hold a flash item"] = held.status_code
    again = _post(buyer, hold_url, {"quantity": 1}, key="smoke-hold")  # a double click
    outcome["repeat the hold"] = again.status_code
    if held.status_code == 201:
        same = again.status_code == 201 and again.json()["id"] == held.json()["id"]
        outcome["repeat got the same hold"] = same
        checkout = f"/api/v1/flash-sales/holds/{held.json()['id']}/checkout/"
        outcome["check out the hold"] = _post(buyer, checkout, {}).status_code
    huge = 10**20  # beyond SQLite's integers: hand-written SQL must not see it
    outcome["hold an item id too large"] = _post(
        buyer, f"/api/v1/flash-sales/items/{huge}/holds/", {"quantity": 1}
    ).status_code
    outcome["buy a plan id too large"] = _post(
        buyer, "/api/v1/passes/", {"plan_id": huge}
    ).status_code
    transfer = {"to": "ravi", "amount_paise": 100, "note": "smoke"}
    outcome["send money"] = _post(buyer, "/api/v1/wallet/transfers", transfer).status_code
    topup = {"amount_paise": 50_000}
    outcome["start a top-up"] = _post(buyer, "/api/v1/wallet/topups", topup).status_code

    vendor = _signed_in("vendor@demo.flexpass.dev")
    for url in VENDOR_PAGES:
        outcome[f"GET {url}"] = vendor.get(url).status_code
    staff = _signed_in("staff@demo.flexpass.dev")
    for url in STAFF_PAGES:
        outcome[f"GET {url}"] = staff.get(url).status_code

    for command in ("check_ledger", "check_flash_stock"):
        try:
            call_command(command, verbosity=0)
            outcome[command] = "ok"
        except Exception as error:  # reported, not raised: the parent test names it
            outcome[command] = f"failed: {error}"
    print("SMOKE-RESULT " + json.dumps(outcome))
