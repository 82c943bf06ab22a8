"""Earnings and passes in the vendor console: figures from the ledger, bounded queries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from marketplace import console_selectors
from marketplace.models import UsageEvent
from marketplace.refunds import purchase_refund
from marketplace.services import keys, pass_purchase
from marketplace.tests.factories import (
    PlanFactory,
    ServiceFactory,
    VendorFactory,
    fund,
    usage_plan,
)

pytestmark = pytest.mark.django_db


def buy(plan, buyer=None, key="k"):
    buyer = buyer or UserFactory()
    fund(buyer, 1_000_000)
    return pass_purchase(buyer=buyer, plan=plan, idempotency_key=key).pass_obj


def test_earnings_are_the_vendor_share_per_day_and_per_service_less_refunds():
    vendor = VendorFactory()
    images = ServiceFactory(vendor=vendor, name="ImageGen")
    weather = ServiceFactory(vendor=vendor, name="Weather")
    buy(PlanFactory(service=images, price_paise=10_000))  # share 9,000 (10 % fee)
    refunded = buy(PlanFactory(service=images, price_paise=5_000))  # share 4,500
    buy(PlanFactory(service=weather, price_paise=20_000))  # share 18,000
    buy(PlanFactory(price_paise=20_000))  # another vendor's sale
    purchase_refund(
        purchase_id=refunded.purchase_id,
        amount_paise=5_000,
        reason="test",
        acting_user=UserFactory(is_staff=True),
        idempotency_key="r1",
    )

    earnings = console_selectors.vendor_earnings(vendor=vendor)

    assert earnings.payable_paise == 27_000
    assert earnings.total_paise == 27_000
    assert [(s.name, s.paise) for s in earnings.by_service] == [
        ("Weather", 18_000),
        ("ImageGen", 9_000),
    ]
    today = earnings.days[-1]
    assert (today.day, today.paise, today.height) == (timezone.localdate(), 27_000, 100)
    assert len(earnings.days) == 30
    assert all(bar.paise == 0 for bar in earnings.days[:-1])


def test_the_earnings_page_shows_the_figures_the_chart_and_the_withdraw_link(client):
    vendor = VendorFactory()
    buy(usage_plan(service__vendor=vendor, service__name="ImageGen", price_paise=10_000))
    client.force_login(vendor.user)

    page = client.get("/vendor/earnings/").content.decode()

    assert 'data-testid="payable">₹90.00<' in page
    assert page.count('data-testid="day-bar"') == 30
    assert 'data-paise="9000"' in page
    assert 'data-testid="service-earning"><span>ImageGen</span>' in page
    assert 'href="/billing/withdraw/" data-testid="withdraw-link"' in page
    assert 'data-testid="earnings-empty"' not in page


def test_the_earnings_page_has_an_empty_state(client):
    vendor = VendorFactory()
    client.force_login(vendor.user)

    page = client.get("/vendor/earnings/").content.decode()

    assert 'data-testid="earnings-empty"' in page
    assert 'data-testid="earnings-chart"' not in page


def test_the_earnings_page_does_a_fixed_number_of_queries(client, assert_domain_queries):
    vendor = VendorFactory()
    buy(usage_plan(service__vendor=vendor))
    client.force_login(vendor.user)
    client.get("/vendor/earnings/")
    # vendor profile, payable account, per day, per service, service names, held earnings,
    # wallet balances, recent moves to the wallet
    with assert_domain_queries(8) as few:
        client.get("/vendor/earnings/")
    for i in range(6):
        buy(usage_plan(service=ServiceFactory(vendor=vendor)), key=f"k{i}")

    with assert_domain_queries(8) as many:
        response = client.get("/vendor/earnings/")

    assert response.content.decode().count('data-testid="service-earning"') == 7
    assert many.total == few.total


def test_the_passes_page_lists_active_passes_masked_and_recent_usage(client):
    vendor = VendorFactory()
    plan = usage_plan(service__vendor=vendor, units=100)
    bought = buy(plan, buyer=UserFactory(email="asha.k@example.com"))
    UsageEvent.objects.create(
        vendor=vendor, pass_obj=bought, event_id="evt-1", units=3, occurred_at=timezone.now()
    )
    buy(usage_plan(), key="other")  # another vendor's pass
    client.force_login(vendor.user)

    page = client.get("/vendor/passes/").content.decode()

    assert page.count('data-testid="console-pass-row"') == 1
    assert "a•••k@example.com" in page
    assert "asha.k@example.com" not in page
    assert page.count('data-testid="usage-row"') == 1
    assert "evt-1" in page


def test_the_passes_table_paginates_over_htmx(client, settings):
    vendor = VendorFactory()
    plan = PlanFactory(service__vendor=vendor)
    for i in range(console_selectors.PASSES_PAGE_SIZE + 3):
        buy(plan, key=f"k{i}")
    client.force_login(vendor.user)

    first = client.get("/vendor/passes/").content.decode()
    second = client.get("/vendor/passes/?page=2", HTTP_HX_REQUEST="true")

    body = second.content.decode()
    assert first.count('data-testid="console-pass-row"') == console_selectors.PASSES_PAGE_SIZE
    assert body.lstrip().startswith('<div id="pass-table"')
    assert body.count('data-testid="console-pass-row"') == 3
    assert "<html" not in body
    assert "Vary" in second and "HX-Request" in second["Vary"]


def test_the_passes_page_does_a_fixed_number_of_queries(client, assert_domain_queries):
    vendor = VendorFactory()
    plan = usage_plan(service__vendor=vendor)
    p = buy(plan)
    UsageEvent.objects.create(
        vendor=vendor, pass_obj=p, event_id="e0", units=1, occurred_at=timezone.now()
    )
    client.force_login(vendor.user)
    client.get("/vendor/passes/")
    with assert_domain_queries(4) as few:  # vendor, count, passes, usage
        client.get("/vendor/passes/")
    for i in range(8):
        p = buy(plan, key=f"k{i}")
        UsageEvent.objects.create(
            vendor=vendor, pass_obj=p, event_id=f"e{i + 1}", units=1, occurred_at=timezone.now()
        )

    with assert_domain_queries(4) as many:
        page = client.get("/vendor/passes/").content.decode()

    assert page.count('data-testid="console-pass-row"') == 9
    assert page.count('data-testid="usage-row"') == 9
    assert many.total == few.total


def test_test_passes_show_with_a_test_badge_and_expired_ones_do_not_show(client):
    vendor = VendorFactory()
    plan = PlanFactory(service__vendor=vendor, duration_hours=1)
    minted = keys.test_pass_mint(vendor=vendor, plan=plan)
    old = buy(plan)
    type(old).objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    client.force_login(vendor.user)

    page = client.get("/vendor/passes/").content.decode()

    assert page.count('data-testid="console-pass-row"') == 1
    assert f'data-pass-id="{minted.pk}"' in page
    assert '<span class="badge brand">test</span>' in page


def test_metered_sessions_count_towards_their_service():
    from marketplace.services import sessions
    from marketplace.tests.factories import metered_plan

    vendor = VendorFactory()
    plan = metered_plan(service__vendor=vendor, service__name="Live tutor", metered_rate_paise=200)
    user = UserFactory()
    fund(user, 100_000)
    started = timezone.now() - timedelta(minutes=3)
    session = sessions.session_start(user=user, plan=plan, now=started)
    sessions.session_stop(session_id=session.pk, user=user, now=started + timedelta(minutes=3))
    session.refresh_from_db()

    earnings = console_selectors.vendor_earnings(vendor=vendor)

    share = session.cost_paise - session.cost_paise // 10
    assert session.cost_paise == 600
    assert [(s.name, s.paise) for s in earnings.by_service] == [("Live tutor", share)]
    assert earnings.payable_paise == earnings.total_paise == share
