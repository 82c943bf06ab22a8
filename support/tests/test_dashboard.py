"""The operator dashboard: figures equal the books for a known data set; bounded queries;
staff only; unlocking a locked account is audited."""

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from billing.services import withdrawal_request
from flashsale import services as flash_services
from flashsale.tests.factories import item_make
from flexpass.tallies import tally, tally_forget_all
from marketplace.models import Purchase
from marketplace.services import pass_purchase
from marketplace.tests.factories import PlanFactory, ServiceFactory, category, fund
from support import services
from support.activity import activity_forget_all, activity_touch
from support.dashboard import figures, panel_context
from support.models import AuditLog, SecurityEvent
from support.services.security import locked_accounts
from support.tests.factories import agent, person
from wallet.models import AccountKind, LedgerAccount, Posting
from wallet.tests.factories import tamper

pytestmark = pytest.mark.django_db
INDEX = "/admin/"


@pytest.fixture(autouse=True)
def _nobody_active():
    activity_forget_all()
    tally_forget_all()
    yield
    activity_forget_all()
    tally_forget_all()


def buy(buyer, plan, key, *, days_ago=0):
    """A real purchase through the marketplace, then moved back in time (entry and row).

    The journal is append-only (database triggers); the wallet's own test helper lifts
    them for the backdating, as a data set built over 40 days would look."""
    purchase = pass_purchase(buyer=buyer, plan=plan, idempotency_key=key)
    if days_ago:
        when = timezone.now() - timedelta(days=days_ago)
        tamper(
            "UPDATE wallet_journalentry SET created_at = %s WHERE id = %s",
            [when, purchase.entry_id],
        )
        Purchase.objects.filter(pk=purchase.pk).update(created_at=when)
    return purchase


@pytest.fixture
def books():
    """Known data: purchases today, 5, 20 and 40 days ago in two categories, two pending
    withdrawals, one live flash-sale hold, two CSAT ratings, three active users."""
    ai, data = category("ai-tools"), category("data-apis")
    imagegen = ServiceFactory(name="ImageGen", category=ai)
    weather = ServiceFactory(name="WeatherNow", category=data)
    day_pass = PlanFactory(service=imagegen, price_paise=10_000)  # fee 10 % = ₹10
    api_pass = PlanFactory(service=weather, price_paise=20_000)  # fee ₹20
    asha, ravi = person("Asha"), person("Ravi")
    fund(asha, 200_000)
    fund(ravi, 100_000)
    buy(asha, day_pass, "p1")
    buy(ravi, day_pass, "p2")
    buy(asha, api_pass, "p3", days_ago=5)
    buy(ravi, day_pass, "p4", days_ago=20)
    buy(asha, api_pass, "p5", days_ago=40)  # outside every window
    for amount, key in ((20_000, "w1"), (15_000, "w2")):
        withdrawal_request(
            user=asha,
            amount_paise=amount,
            account_holder="Asha Rao",
            account_number="123456789012",
            ifsc="HDFC0001234",
            idempotency_key=key,
        )
    item = item_make(total=5, price_paise=5_000)
    flash_services.hold_create(user=ravi, item_id=item.pk, quantity=2)
    anna, bala = agent("Anna"), agent("Bala")
    for agent_user, score in ((anna, 5), (anna, 3), (bala, 4)):
        conversation = services.conversation_start(customer=person(), subject="Q", body="?")
        services.conversation_assign(
            conversation_id=conversation.pk, agent=agent_user, acting_user=agent_user
        )
        services.conversation_set_status(
            conversation_id=conversation.pk, acting_user=agent_user, status="resolved"
        )
        conversation.refresh_from_db()
        services.csat_submit(conversation=conversation, user=conversation.customer, score=score)
    now = timezone.now()
    activity_touch(asha.pk, now=now)
    activity_touch(ravi.pk, now=now - timedelta(minutes=2))
    activity_touch(anna.pk, now=now - timedelta(minutes=30))  # active today, not now
    return {"asha": asha, "ravi": ravi, "anna": anna, "bala": bala}


def test_overview_figures_equal_the_books(books):
    # When
    data = figures.overview()

    # Then revenue is the fees that reached the revenue account
    revenue = data["revenue"]
    assert (revenue["today_paise"], revenue["d7_paise"], revenue["d30_paise"]) == (
        2_000,
        4_000,
        5_000,
    )
    assert [(row["label"], row["total"]) for row in revenue["by_category"]] == [
        ("Ai tools", 3_000),
        ("Data apis", 2_000),
    ]
    assert sum(sum(series["data"]) for series in revenue["by_day"]) == 5_000
    # ... which is what the ledger says for the same window
    ledger = Posting.objects.filter(
        account__kind=AccountKind.PLATFORM_REVENUE,
        entry__created_at__gte=timezone.now() - timedelta(days=30),
    ).aggregate(total=Sum("amount_paise"))["total"]
    assert ledger == 5_000
    # Purchases and gross sales come from the purchases table
    assert data["purchases"] == {
        "today": 2,
        "d7": 3,
        "d30": 4,
        "gross_today": 20_000,
        "gross_7": 40_000,
        "gross_30": 50_000,
    }
    assert [
        (row["service__name"], row["purchases"], row["gross_paise"]) for row in data["top_services"]
    ] == [
        ("ImageGen", 3, 30_000),
        ("WeatherNow", 1, 20_000),
    ]
    # Float = users' available + reserved (withdrawals only moved money to reserved)
    users = LedgerAccount.objects.filter(
        kind__in=[AccountKind.USER_AVAILABLE, AccountKind.USER_RESERVED]
    ).aggregate(total=Sum("balance_paise"))["total"]
    assert data["balances"]["float"] == users == 300_000 - 70_000
    assert data["balances"]["reserved"] == 35_000
    assert data["withdrawals"] == {"count": 2, "amount_paise": 35_000}
    # Flash sales: one live sale with one hold of two units
    assert (data["flash"]["live"], data["flash"]["holds"], data["flash"]["held_units"]) == (1, 1, 2)
    # Support: CSAT per agent
    assert [(row["name"], row["average"], row["ratings"]) for row in data["support"]["csat"]] == [
        ("Anna", 4.0, 2),
        ("Bala", 4.0, 1),
    ]
    assert data["support"]["csat_overall"] == 4.0
    # Active users: two in the last five minutes, three today
    assert (data["active"]["now"], data["active"]["today"]) == (2, 3)


def test_the_dashboard_page_shows_the_figures_in_bounded_queries(
    client, books, django_assert_max_num_queries
):
    # Given a staff member on the admin index
    client.force_login(agent("Lead"))
    client.get(INDEX)

    # When the dashboard loads
    with django_assert_max_num_queries(25):
        response = client.get(INDEX)

    # Then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="revenue-today">₹20.00<' in html
    assert 'data-testid="purchases-today">2<' in html
    assert 'data-testid="withdrawals-pending">2<' in html
    # Asha, Ravi and the staff member, whose first visit made them active too
    assert 'data-testid="active-now">3<' in html


@pytest.mark.parametrize("panel", ["overview", "health", "security"])
def test_each_panel_refreshes_in_bounded_queries(
    client, books, panel, django_assert_max_num_queries
):
    client.force_login(agent("Lead"))
    url = reverse("admin:support_dashboard_panel", args=[panel])
    client.get(url)
    with django_assert_max_num_queries(20):
        response = client.get(url)
    assert response.status_code == 200
    assert f'data-panel="{panel}"' in response.content.decode()


def test_the_dashboard_is_staff_only(client):
    client.force_login(person("Asha"))
    for url in (INDEX, reverse("admin:support_dashboard_panel", args=["overview"])):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_app_list_stays_one_click_away(client):
    lead = agent("Lead")
    lead.is_superuser = True
    lead.save(update_fields=["is_superuser"])
    client.force_login(lead)
    html = client.get(INDEX + "?panel=apps").content.decode()
    assert 'id="content-main"' in html and "app-support" in html


def test_health_reports_checks_jobs_and_ledger(settings):
    # Given the heartbeat job reported two hours ago (it runs every minute)
    import time

    from django.core.cache import cache

    cache.set("jobs:last-run:heartbeat", time.time() - 7200, timeout=None)
    cache.set("jobs:last-run:wallet-seal-ledger", time.time() - 5, timeout=None)

    # When
    health = panel_context("health")["health"]

    # Then
    assert set(health["checks"]) == {"database", "cache", "channel_layer", "broker"}
    assert all(check["ok"] for check in health["checks"].values())
    jobs = {job["name"]: job["state"] for job in health["jobs"]}
    assert (jobs["heartbeat"], jobs["wallet-seal-ledger"], jobs["idempotency-purge"]) == (
        "late",
        "ok",
        "never",
    )
    assert health["ledger"]["ok"] is None  # no check has run in this test
    assert health["webhooks"]["backlog"] == 0


def test_the_webhook_backlog_counts_both_directions():
    # Given a gateway event not processed yet and a vendor webhook waiting in the outbox
    from billing.models import WebhookEvent
    from marketplace.models import WebhookDelivery, WebhookEndpoint
    from marketplace.tests.factories import VendorFactory

    WebhookEvent.objects.create(
        gateway="razorpay", event_id="evt_in", raw_body="{}", signature_valid=True
    )
    endpoint = WebhookEndpoint.objects.create(
        vendor=VendorFactory(), url="https://vendor.example/hooks", secret="s"
    )
    WebhookDelivery.objects.create(
        endpoint=endpoint, event_id="evt_out", event_type="purchase.created", payload={}
    )
    WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id="evt_dead",
        event_type="purchase.created",
        payload={},
        status="failed",
    )

    # When
    webhooks = panel_context("health")["health"]["webhooks"]

    # Then
    assert (
        webhooks["backlog"],
        webhooks["incoming"],
        webhooks["outgoing_pending"],
        webhooks["outgoing_failed"],
    ) == (
        2,
        1,
        1,
        1,
    )


# --- security ---------------------------------------------------------------------------------


def failed_login(client, email):
    return client.post(reverse("account_login"), {"login": email, "password": "wrong-password-1"})


def test_failed_logins_lock_an_account_and_staff_unlock_it_with_an_audit_trail(client):
    # Given Asha's password is guessed wrong five times (allauth locks after five)
    asha = person("Asha")
    for _ in range(5):
        failed_login(client, asha.email)
    locked = locked_accounts()
    assert [(account.email, account.failures) for account in locked] == [(asha.email, 5)]
    assert SecurityEvent.objects.filter(kind="login_failed", email=asha.email).count() == 5
    assert SecurityEvent.objects.filter(kind="account_locked", email=asha.email).count() == 1
    # ... so even her right password is refused now
    from accounts.tests.factories import DEFAULT_PASSWORD

    refused = client.post(
        reverse("account_login"), {"login": asha.email, "password": DEFAULT_PASSWORD}
    )
    assert refused.status_code == 200  # the form again, with the lockout message

    # When a staff member unlocks her from the security panel
    lead = agent("Lead")
    staff = client.__class__()
    staff.force_login(lead)
    panel = staff.get(INDEX + "?panel=security").content.decode()
    assert asha.email in panel and 'data-testid="unlock"' in panel
    response = staff.post(
        reverse("admin:support_dashboard_unlock"),
        {"email": asha.email, "reason": "Verified her identity by phone"},
    )

    # Then she can sign in, and the audit log says who, when and why
    assert response.status_code == 302
    assert locked_accounts() == []
    signed_in = client.post(
        reverse("account_login"), {"login": asha.email, "password": DEFAULT_PASSWORD}
    )
    assert signed_in.status_code == 302
    audit = AuditLog.objects.get(action="account_unlock")
    assert (audit.actor_id, audit.target, audit.reason) == (
        lead.pk,
        asha.email,
        "Verified her identity by phone",
    )


def test_unlocking_needs_a_reason(client):
    client.force_login(agent("Lead"))
    client.post(reverse("admin:support_dashboard_unlock"), {"email": "a@example.com", "reason": ""})
    assert AuditLog.objects.count() == 0


def test_refusals_over_time_count_by_kind(client):
    # Given two failed logins and a bad webhook signature
    from billing.models import WebhookEvent

    for _ in range(2):
        failed_login(client, "mallory@example.com")
    WebhookEvent.objects.create(
        gateway="razorpay", event_id="evt_1", raw_body="{}", signature_valid=False
    )

    # When
    security = panel_context("security")["security"]

    # Then
    assert security["over_time"]["totals"] == {"Failed login": 2, "Webhook signature failures": 1}
    assert security["failed_total"] == 2
    assert security["webhook_failures"]["count"] == 1
    assert [(row["email"], row["failures"]) for row in security["failed_logins"]] == [
        ("mallory@example.com", 2)
    ]


def test_staff_revoke_a_vendor_key_from_the_security_panel_with_an_audit_trail(client):
    # Given a vendor's live key that made three requests in the current window
    from flexpass.ratelimit import window_take
    from marketplace.models import ApiKey
    from marketplace.services.keys import api_key_create
    from marketplace.tests.factories import VendorFactory

    vendor = VendorFactory(business_name="PixelForge")
    key = api_key_create(vendor=vendor, mode="live", name="server").key
    for _ in range(3):
        window_take(f"apikey:{key.pk}", limit=100, window_seconds=60)
    lead = agent("Lead")
    client.force_login(lead)

    # When the panel shows the key's usage and staff revoke it
    panel = panel_context("security")["security"]["api_keys"]
    assert [(row["masked"], row["window_requests"], row["state"]) for row in panel["keys"]] == [
        (key.masked, 3, "active")
    ]
    response = client.post(
        reverse("admin:support_dashboard_revoke_key"),
        {"key": key.pk, "reason": "Leaked in a public repository"},
    )

    # Then it no longer works and the audit log says who and why
    assert response.status_code == 302
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    audit = AuditLog.objects.get(action="api_key_revoke")
    assert (audit.actor_id, audit.reason, audit.target) == (
        lead.pk,
        "Leaked in a public repository",
        f"PixelForge {key.masked}",
    )


# --- throttle blocks and API key usage over time ---------------------------------------------


def test_blocks_by_kind_over_the_day_equal_the_refusals(settings):
    # Given refusals at the one place each happens: a DRF throttle (twice), the vendor
    # key limiter, the flash-sale hold throttle; and sign-in blocks 2 and 30 hours ago
    from rest_framework import exceptions

    from flashsale import throttle
    from flexpass.api.problems import exception_handler
    from flexpass.ratelimit import window_take

    for _ in range(2):
        assert exception_handler(exceptions.Throttled(wait=7), {}).status_code == 429
    window_take("apikey:991", limit=1, window_seconds=60)
    assert window_take("apikey:991", limit=1, window_seconds=60) > 0
    settings.FLASH_HOLDS_PER_USER = 1
    throttle.hold_slot_take(user_id=5, ip="203.0.113.9")
    with pytest.raises(throttle.Throttled):
        throttle.hold_slot_take(user_id=5, ip="203.0.113.9")
    now = timezone.now()
    tally("refusals", "sign_in", at=now - timedelta(hours=2))
    tally("refusals", "sign_in", at=now - timedelta(hours=30))  # outside the day

    # When
    blocks = panel_context("security")["security"]["blocks"]

    # Then
    assert blocks["totals"] == {
        "API throttle (429)": 2,
        "Flash-sale hold throttle": 1,
        "Sign-in / code rate limit": 1,
        "Vendor API key rate limit": 1,
    }
    assert blocks["total"] == 5
    assert len(blocks["labels"]) == 24
    series = {row["label"]: row["data"] for row in blocks["series"]}
    assert series["API throttle (429)"][-1] == 2  # this hour
    assert series["Sign-in / code rate limit"][-3] == 1  # two hours ago
    assert sum(series["Sign-in / code rate limit"]) == 1


def test_api_key_usage_by_key_over_the_hour_and_day(client, settings):
    # Given two keys: one that made five vendor API calls against a limit of three
    # (two refused with 429) and four more three hours ago, and one never used
    from marketplace.services.keys import api_key_create
    from marketplace.tests.factories import VendorFactory

    settings.VENDOR_API_RATE_LIMIT = 3
    busy = api_key_create(vendor=VendorFactory(business_name="PixelForge"), mode="live")
    idle = api_key_create(vendor=VendorFactory(business_name="Quiet Ltd"), mode="live")
    statuses = [
        client.post(
            "/api/v1/vendor/access/check/",
            {"token": "fp_pass_unknown"},
            content_type="application/json",
            headers={"Authorization": f"Bearer {busy.secret}"},
        ).status_code
        for _ in range(5)
    ]
    assert statuses.count(429) == 2
    for _ in range(4):
        tally("apikey", str(busy.key.pk), at=timezone.now() - timedelta(hours=3))

    # When
    security = panel_context("security")["security"]
    rows = {row["id"]: row for row in security["api_keys"]["keys"]}

    # Then
    figures_of = {
        key_id: (
            row["window_requests"],
            row["hour_requests"],
            row["hour_refused"],
            row["day_requests"],
            row["day_refused"],
        )
        for key_id, row in rows.items()
    }
    assert figures_of == {busy.key.pk: (3, 5, 2, 9, 2), idle.key.pk: (0, 0, 0, 0, 0)}
    assert [bar["n"] for bar in rows[busy.key.pk]["spark"]][-4:] == [4, 0, 0, 5]
    assert rows[busy.key.pk]["last_used_at"] is not None
    assert security["blocks"]["totals"] == {"Vendor API key rate limit": 2}


def test_the_security_panel_stays_bounded_with_many_keys(client, django_assert_max_num_queries):
    # Given twelve vendors' keys, each used
    from marketplace.services.keys import api_key_create
    from marketplace.tests.factories import VendorFactory

    for number in range(12):
        key = api_key_create(vendor=VendorFactory(), mode="live").key
        for _ in range(number):
            tally("apikey", str(key.pk))
    tally("refusals", "api_throttle")
    client.force_login(agent("Lead"))
    url = reverse("admin:support_dashboard_panel", args=["security"])
    client.get(url)

    # When / Then the panel is drawn in a fixed number of queries
    with django_assert_max_num_queries(20):
        response = client.get(url)
    html = response.content.decode()
    assert html.count('data-testid="key-day"') == 12
    assert 'data-chart-for="security-blocks"' in html
    assert 'data-testid="blocks-total">1<' in html
